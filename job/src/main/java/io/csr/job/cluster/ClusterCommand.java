package io.csr.job.cluster;

import io.csr.common.cli.Cli;
import io.csr.common.cli.CommandGroup;
import io.csr.common.cli.Csr;
import io.csr.common.cli.UsesConfig;
import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import io.csr.job.cluster.node.ClickHouseLayout;
import io.csr.job.cluster.node.ClickHouseNode;
import io.csr.job.cluster.node.GatewaysNode;
import io.csr.job.cluster.node.Node;
import io.csr.job.cluster.node.NodeStatus;
import io.csr.job.cluster.node.NatsClusterNode;
import io.csr.job.cluster.node.RedisClusterNode;
import io.csr.job.cluster.node.Topology;
import io.csr.job.cluster.node.ZooKeeperNode;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.Consumer;

/**
 * {@code csr cluster up [--ha] | status | down [--forget-jobs]}: the local topology on loopback. Without {@code --ha},
 * ZooKeeper and the Flink session cluster (JobManager + 2 TaskManagers); with it, also ClickHouse as
 * {@code --shards} × {@code --replicas} servers (1 × 2 by default) on their own ports and data directories, replicated
 * through the same ZooKeeper, and three gateways behind HAProxy on port {@value GatewaysNode#BASE_PORT}
 * ({@link GatewaysNode}). {@code up} is idempotent: it starts only what does not run, so it also restarts a node
 * that died. Exit codes: 0 done, 1 failed, 2 usage error, 3 ({@code status}) something is down.
 */
@Command(name = "cluster",
        description = "the local multi-node topology on loopback: ZooKeeper, ClickHouse replicas (--ha), Flink JobManager + TaskManagers",
        subcommands = {ClusterCommand.Up.class, ClusterCommand.Status.class, ClusterCommand.Down.class})
public final class ClusterCommand extends CommandGroup implements UsesConfig {
    static final String DEFAULT_CLICKHOUSE_CLUSTER = "csr";

    private CsrConfig config;
    private final Path repoRoot;
    private final Consumer<String> out;

    /** As bin/csr's command tree creates it (io.csr.common.cli.Csr): the checkout at csr.root, the tree's configuration. */
    ClusterCommand() {
        this(null, Path.of(System.getProperty("csr.root", ".")).toAbsolutePath().normalize(), line -> System.out.println("    " + line));
    }

    ClusterCommand(CsrConfig config, Path repoRoot, Consumer<String> out) {
        this.config = config;
        this.repoRoot = repoRoot;
        this.out = out;
    }

    @Override
    public void useConfig(CsrConfig config) {
        this.config = config;
    }

    public static void main(String[] args) {
        Csr.exit(args, "cluster");
    }

    /** One command line with bin/csr's contract (io.csr.common.cli.Cli). */
    static int run(CsrConfig config, Path root, String[] args, Consumer<String> out) {
        return Cli.run(new ClusterCommand(config, root, out), args);
    }

    Path stateDir() {
        return config().stateDir(repoRoot);
    }

    private CsrConfig config() {
        if (config == null) {
            config = CsrConfig.fromEnvironment();
        }
        return config;
    }

    /** The nodes of a topology choice, in start order. */
    Topology topology(TopologyChoice choice) {
        List<Node> nodes = new ArrayList<>();
        String zk = config().get(ConfigKey.ZOOKEEPER_QUORUM);
        if (!zk.isBlank()) {
            nodes.add(new ZooKeeperNode(zk, stateDir(), out));
        } else if (choice.ha()) {
            throw new IllegalArgumentException("--ha needs ZooKeeper (ClickHouse replication and Flink HA); ZOOKEEPER_QUORUM is empty: "
                    + "set it, e.g. ZOOKEEPER_QUORUM=127.0.0.1:2181 (csr starts a server there when nothing answers)");
        }
        if (choice.ha()) {
            nodes.addAll(ClickHouseNode.all(choice.clickHouse(), zk, stateDir(), out));
            nodes.add(new NatsClusterNode(NatsClusterNode.BASE_PORT, stateDir(), out));
            nodes.add(new RedisClusterNode(RedisClusterNode.BASE_PORT, stateDir(), out));
        }
        nodes.add(new FlinkClusterNode(new LocalCluster(LocalClusterSettings.from(config(), repoRoot), out)));
        if (choice.ha()) {
            nodes.add(new GatewaysNode(repoRoot, stateDir(), GatewaysNode.BASE_PORT, out));
        }
        return new Topology(nodes);
    }

    @Command(name = "up", mixinStandardHelpOptions = true,
            description = "start whatever of the topology does not run (idempotent: a node that died is started again)")
    static final class Up implements Callable<Integer> {
        @CommandLine.ParentCommand
        ClusterCommand parent;

        @Option(names = "--ha", description = "the multi-node topology: ClickHouse replicas (and shards) beside ZooKeeper and Flink")
        boolean ha;

        @Option(names = "--shards", defaultValue = "1", description = "ClickHouse shards with --ha (default: ${DEFAULT-VALUE})")
        int shards;

        @Option(names = "--replicas", defaultValue = "2", description = "ClickHouse replicas per shard with --ha (default: ${DEFAULT-VALUE})")
        int replicas;

        @Override
        public Integer call() throws Exception {
            // the cluster is named as the job and gateway will name it (CLICKHOUSE_CLUSTER), "csr" when that is unset
            String name = parent.config.get(ConfigKey.CLICKHOUSE_CLUSTER);
            ClickHouseLayout layout = ha ? ClickHouseLayout.of(name.isBlank() ? DEFAULT_CLICKHOUSE_CLUSTER : name, shards, replicas) : null;
            TopologyChoice choice = ha ? TopologyChoice.ha(layout) : TopologyChoice.flinkOnly();
            Topology topology = parent.topology(choice);
            choice.save(parent.stateDir());
            topology.up();
            if (ha) {
                parent.out.accept("ClickHouse cluster '" + layout.cluster() + "' (" + layout.shards() + " shard(s) x "
                        + layout.replicas() + " replicas) is up; point the job, gateway and CLI at it with");
                // shard 1's replicas in failover order: the process fails over to the next when the first dies
                String urls = layout.serverList().stream().filter(s -> s.shard() == 1).map(ClickHouseLayout.Server::url)
                        .collect(java.util.stream.Collectors.joining(","));
                parent.out.accept("  CLICKHOUSE_URL=" + urls + " CLICKHOUSE_CLUSTER=" + layout.cluster()
                        + "   then: bin/csr migrate (creates the replicated layout, docs/pipeline.md)");
                parent.out.accept("Gateways: " + GatewaysNode.GATEWAYS + " behind HAProxy at http://127.0.0.1:" + GatewaysNode.BASE_PORT
                        + " (pass ?companyId= so each company stays on one gateway; docs/scaling.md)");
            }
            return 0;
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true, description = "every node: its role, state, lag and memory; exit 3 when one is down")
    static final class Status implements Callable<Integer> {
        @CommandLine.ParentCommand
        ClusterCommand parent;

        @Override
        public Integer call() throws Exception {
            List<NodeStatus> all = parent.topology(TopologyChoice.load(parent.stateDir())).status();
            parent.out.accept(NodeStatus.header());
            all.forEach(s -> parent.out.accept(s.line()));
            return all.stream().allMatch(NodeStatus::up) ? 0 : 3;
        }
    }

    @Command(name = "down", mixinStandardHelpOptions = true, description = "stop every node csr started (data directories stay)")
    static final class Down implements Callable<Integer> {
        @CommandLine.ParentCommand
        ClusterCommand parent;

        @Option(names = "--forget-jobs", description = "also delete the Flink HA data (job graphs, checkpoint pointers) in ZooKeeper")
        boolean forgetJobs;

        @Override
        public Integer call() throws Exception {
            Topology topology = parent.topology(TopologyChoice.load(parent.stateDir()));
            // ZooKeeper is shared with csr test and csr up's own users: the cluster's down leaves it running
            List<Node> nodes = topology.nodes();
            for (int i = nodes.size() - 1; i >= 0; i--) {
                if (!(nodes.get(i) instanceof ZooKeeperNode)) {
                    nodes.get(i).stop();
                }
            }
            if (forgetJobs) {
                for (FlinkClusterNode f : topology.nodesOf(FlinkClusterNode.class)) {
                    f.cluster().forgetJobs();
                }
            }
            return 0;
        }
    }
}
