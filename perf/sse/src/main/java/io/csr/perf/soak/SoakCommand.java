package io.csr.perf.soak;

import io.csr.common.cli.Csr;
import io.csr.common.cli.CsrCommand;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.Duration;

/**
 * {@code csr soak}: faults under traffic with a verdict (issue 26). Exit 0 only when every check held; 1 when one
 * did not (or the soak itself could not run); 2 for a usage error.
 */
@Command(name = "soak", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Runs the whole system on processes of its own (Redis, NATS, ClickHouse, PostgreSQL, the embedded job, "
                + "a gateway; own loopback ports and data under the work dir, checkpoints on a small tmpfs it mounts), sends "
                + "traffic with a ledger, holds SSE clients and cohort callers, injects K faults at seeded random times, then "
                + "checks: every valid event once in ClickHouse, every window equal to a recomputation, dead letters exactly the "
                + "malformed messages, every dashboard consistent and equal to ClickHouse, every cohort's figures equal to a "
                + "recomputation. Writes perf/results/soak-<time>.json and .html."})
public final class SoakCommand extends CsrCommand {
    @Option(names = "--minutes", description = "how long traffic runs (default: ${DEFAULT-VALUE})", defaultValue = "3")
    double minutes;

    @Option(names = "--faults", description = "faults to inject at seeded random times (default: ${DEFAULT-VALUE})", defaultValue = "10")
    int faults;

    @Option(names = "--seed", description = "seed of traffic, fault times and kinds (default: the current time, printed)")
    Long seed;

    @Option(names = "--topology", description = "single (one process of each kind) or ha (ClickHouse 1x2 + ZooKeeper, Redis Cluster 3+3, "
            + "NATS x3 with the stream at R3, 2 gateways behind HAProxy; faults kill one replica, Redis master, NATS node or gateway at a "
            + "time, besides the job, PostgreSQL, bursts and a full checkpoint disk) (default: ${DEFAULT-VALUE})",
            defaultValue = "single")
    String topology;

    @Option(names = "--rate", description = "events/s of traffic (bursts are 10x) (default: ${DEFAULT-VALUE})", defaultValue = "25")
    int rate;

    @Option(names = "--companies", description = "companies of the traffic (default: ${DEFAULT-VALUE})", defaultValue = "3")
    int companies;

    @Option(names = "--work-dir", description = "where the soak's processes keep their data and logs (default: <CSR_STATE_DIR>/soak/<seed>)")
    Path workDir;

    @Option(names = "--results", description = "where the JSON and HTML results go (default: <repo>/perf/results)")
    Path results;

    @Option(names = "--settle-seconds", description = "longest wait for the system to settle before the verdict (default: ${DEFAULT-VALUE})",
            defaultValue = "300")
    int settleSeconds;

    @Override
    public Integer call() throws Exception {
        if (!topology.equals("single") && !topology.equals("ha")) {
            throw usage("--topology '" + topology + "': use single (one process of each kind) or ha (replicas, clusters, gateways behind HAProxy)");
        }
        if (minutes <= 0 || faults < 0 || rate <= 0 || companies <= 0 || settleSeconds <= 0) {
            throw usage("--minutes, --rate, --companies and --settle-seconds must be positive, --faults 0 or more");
        }
        long s = seed != null ? seed : System.currentTimeMillis();
        Path root = Path.of(System.getProperty("csr.root", ".")).toAbsolutePath().normalize();
        Path work = workDir != null ? workDir : config().stateDir(root).resolve("soak").resolve(Long.toString(s));
        if (work.toFile().exists() && work.toFile().list() != null && work.toFile().list().length > 0) {
            throw usage("--work-dir " + work + " is not empty (an earlier soak with this seed?); remove it or give another");
        }
        Soak.say("soak seed " + s + " (re-run with --seed " + s + ")");
        boolean ok = new Soak(new Soak.Options(minutes, faults, s, rate, companies, root, work,
                results != null ? results : root.resolve("perf/results"), Duration.ofSeconds(settleSeconds), topology.equals("ha"))).run();
        Soak.say(ok ? "PASS: every check held" : "FAIL: see the failures above and in the results");
        return ok ? 0 : 1;
    }

    public static void main(String[] args) {
        Csr.exit(args, "soak");
    }
}
