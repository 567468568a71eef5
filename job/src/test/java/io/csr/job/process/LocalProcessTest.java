package io.csr.job.process;

import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.time.Instant;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

class LocalProcessTest {
    private static final String THIS_JVM_STARTED =
            Instant.ofEpochMilli(ManagementFactory.getRuntimeMXBean().getStartTime()).toString();

    @Test
    void thisJvmRunsWithItsRecordedStart() {
        assertThat(LocalProcess.runs(ProcessHandle.current().pid(), THIS_JVM_STARTED)).isTrue();
    }

    @Test
    void aPidWhoseProcessStartedAtAnotherTimeIsAnotherProcess() {
        assertThat(LocalProcess.runs(ProcessHandle.current().pid(), Instant.parse(THIS_JVM_STARTED).minusSeconds(3600).toString()))
                .as("the pid was reused by a later process").isFalse();
    }

    @Test
    void aKilledProcessIsGoneWhileAZombieAndAfterItIsReaped() throws Exception {
        Process p = new ProcessBuilder("sleep", "60").start();
        String started = p.info().startInstant().orElseThrow().toString();
        assertThat(LocalProcess.runs(p.pid(), started)).isTrue();
        ProcessHandle.of(p.pid()).orElseThrow(); // still there
        Runtime.getRuntime().exec(new String[] {"kill", "-9", Long.toString(p.pid())}).waitFor();
        // not reaped yet: kill -0 would still answer for the zombie
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!LocalProcess.zombie(p.pid()) && p.isAlive() && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertThat(LocalProcess.runs(p.pid(), started)).as("a killed process, zombie or reaped, does not run").isFalse();
        p.waitFor();
        assertThat(LocalProcess.runs(p.pid(), started)).isFalse();
    }

    /** A process reaped between runs()'s look at its handle and at /proc counts as gone, not as "start unreadable". */
    @Test
    void aPidWhoseProcEntryIsGoneIsDead() throws Exception {
        Process p = new ProcessBuilder("true").start();
        p.waitFor();
        await().until(() -> ProcessHandle.of(p.pid()).isEmpty());
        assertThat(LocalProcess.zombie(p.pid())).as("/proc/%d is gone", p.pid()).isTrue();
    }
}
