package io.csr.ops;

import io.csr.common.cli.CommandGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Unmatched;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * The commands bin/csr carries out itself, because they run before any JVM exists or start and stop OS processes
 * (find the JDK, Maven, apt, services, pid files). Their help and options still live here, so {@code bin/csr --help}
 * has one source: bin/csr hands any arguments it gets to this side first, which prints the help or refuses a usage
 * error (exit 2) before bin/csr does anything; a call that passes the check does nothing here.
 */
final class ShellCommands {
    private ShellCommands() {
    }

    /** Checked, nothing to do on this side. */
    abstract static class CheckedByJava implements Callable<Integer> {
        @Override
        public Integer call() {
            return 0;
        }
    }

    @Command(name = "down", mixinStandardHelpOptions = true, description = "Stop only what csr started (services, job, gateway, local cluster).")
    static final class Down extends CheckedByJava {
    }

    @Command(name = "build", mixinStandardHelpOptions = true, description = "Force a Maven build (mvn -DskipTests install); other commands build what is stale by themselves.")
    static final class Build extends CheckedByJava {
    }

    @Command(name = "test", mixinStandardHelpOptions = true,
            description = "bin/csr up, then the whole test suite (mvn -B verify) against the real services; arguments go to Maven.")
    static final class Test extends CheckedByJava {
        @Unmatched
        List<String> mavenArgs = new ArrayList<>();
    }

    @Command(name = "start", mixinStandardHelpOptions = true,
            description = {"Start the job (embedded) and the gateway in the background.",
                    "Pid and log files under CSR_STATE_DIR. A component counts as running only when its process is alive "
                    + "(not a zombie) and answers (REST, health)."})
    static final class Start extends CheckedByJava {
    }

    @Command(name = "stop", mixinStandardHelpOptions = true,
            description = "Stop what start (and demo's sample generator) started; the job keeps its checkpoints and resumes from them.")
    static final class Stop extends CheckedByJava {
    }

    @Command(name = "demo", mixinStandardHelpOptions = true,
            description = {"Set up and run the whole system locally with sample data; prints where to look.",
                    "up, start, sample events at DEMO_RATE (default 20/s), demo participants and cohorts."})
    static final class Demo extends CheckedByJava {
    }

    @Command(name = "run", description = "Run a component in the foreground (Ctrl-C stops it).")
    static final class Run extends CommandGroup {
    }

    @Command(name = "gateway", mixinStandardHelpOptions = true,
            description = {"Run the SSE gateway in the foreground on GATEWAY_HOST:GATEWAY_PORT.",
                    "Ctrl-C ends every stream cleanly (event: close), then stops."})
    static final class RunGateway extends CheckedByJava {
    }
}
