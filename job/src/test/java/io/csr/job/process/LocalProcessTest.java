package io.csr.job.process;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
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

    @Test
    void aProcessIsKnownByItsStartStampAndAnotherStartIsAnotherProcess() {
        LocalProcess.StartStamp self = LocalProcess.StartStamp.of(ProcessHandle.current().pid()).orElseThrow();
        assertThat(LocalProcess.runs(ProcessHandle.current().pid(), self.toString())).isTrue();
        String oneTickLater = new LocalProcess.StartStamp(self.bootId(), self.ticks() + 1).toString();
        assertThat(LocalProcess.runs(ProcessHandle.current().pid(), oneTickLater)).as("a later process under this pid").isFalse();
        String otherBoot = new LocalProcess.StartStamp("00000000-0000-0000-0000-000000000000", self.ticks()).toString();
        assertThat(LocalProcess.runs(ProcessHandle.current().pid(), otherBoot)).as("a process of an earlier boot").isFalse();
    }

    /**
     * The wall clock stepped by an hour since the pid file was written (a VM resumed from a snapshot, NTP): the start
     * recorded beside it still names the process; without it, the file's time no longer matches the process's start.
     */
    @Test
    void aRecordedStartSurvivesAWallClockStep(@TempDir Path dir) throws Exception {
        Process p = new ProcessBuilder("sleep", "60").start();
        try {
            Path pidFile = dir.resolve("node.pid");
            LocalProcess.recordStart(pidFile, p.pid());
            assertThat(Files.readString(pidFile)).as("the pid file stays one line of digits").isEqualTo(p.pid() + "\n");
            Files.setLastModifiedTime(pidFile, FileTime.from(Instant.now().minus(Duration.ofHours(1))));
            assertThat(LocalProcess.recordedIn(pidFile)).contains(p.pid());

            Files.writeString(dir.resolve("node.pid.start"), (p.pid() + 1) + " " + LocalProcess.StartStamp.of(p.pid()).orElseThrow() + "\n");
            assertThat(LocalProcess.recordedIn(pidFile)).as("a start recorded for another pid is not this one's").isEmpty();

            LocalProcess.forget(pidFile);
            assertThat(pidFile).doesNotExist();
            assertThat(dir.resolve("node.pid.start")).doesNotExist();
        } finally {
            p.destroyForcibly().waitFor();
        }
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
