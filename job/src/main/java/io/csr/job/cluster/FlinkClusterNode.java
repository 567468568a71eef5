package io.csr.job.cluster;

import io.csr.job.cluster.node.DetachedProcess;
import io.csr.job.cluster.node.Node;
import io.csr.job.cluster.node.NodeStatus;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The Flink session cluster ({@link LocalCluster}: a JobManager and its TaskManagers) as one node of the topology: the
 * processes start and stop together, and status shows each of them. The JobManager's lag is the age of the newest
 * completed checkpoint of the running job (what a failover would replay from).
 */
public final class FlinkClusterNode implements Node {
    private static final Pattern JOB_ID = Pattern.compile("\"jid\"\\s*:\\s*\"([0-9a-f]{32})\"[^}]*\"state\"\\s*:\\s*\"RUNNING\"");
    private static final Pattern LATEST_ACK = Pattern.compile("\"completed\"\\s*:\\s*\\{[^{}]*\"latest_ack_timestamp\"\\s*:\\s*(\\d+)");

    private final LocalCluster cluster;

    public FlinkClusterNode(LocalCluster cluster) {
        this.cluster = cluster;
    }

    public LocalCluster cluster() {
        return cluster;
    }

    @Override
    public String name() {
        return "flink";
    }

    @Override
    public void start() throws Exception {
        cluster.up();
    }

    @Override
    public void stop() throws Exception {
        cluster.down();
    }

    @Override
    public List<NodeStatus> status() {
        List<NodeStatus> out = new ArrayList<>();
        String overview = cluster.get("/overview");
        Optional<Long> jm = cluster.pid(LocalCluster.JOB_MANAGER);
        String ha = cluster.settings().highAvailability() ? "HA via ZooKeeper" : "no HA";
        if (jm.isEmpty()) {
            out.add(NodeStatus.down(LocalCluster.JOB_MANAGER, "jobmanager (" + ha + ")", cluster.settings().restUrl()));
        } else {
            out.add(new NodeStatus(LocalCluster.JOB_MANAGER, "jobmanager (" + ha + ")", !overview.isEmpty(),
                    overview.isEmpty() ? "REST does not answer" : checkpointLag(),
                    DetachedProcess.rssOf(jm.get()), "pid " + jm.get() + ", " + cluster.settings().restUrl()
                    + (overview.isEmpty() ? "" : ", " + LocalCluster.field(overview, "jobs-running") + " jobs running, "
                    + LocalCluster.field(overview, "slots-available") + "/" + LocalCluster.field(overview, "slots-total") + " slots free")));
        }
        for (int i = 1; i <= cluster.settings().taskManagers(); i++) {
            String name = LocalCluster.TASK_MANAGER + i;
            Optional<Long> pid = cluster.pid(name);
            String role = "taskmanager (" + cluster.settings().slotsPerTaskManager() + " slots)";
            out.add(pid.map(p -> new NodeStatus(name, role, true, "", DetachedProcess.rssOf(p), "pid " + p + ", log " + cluster.logFile(name)))
                    .orElseGet(() -> NodeStatus.down(name, role, "(start it: bin/csr cluster up)")));
        }
        return out;
    }

    private String checkpointLag() {
        Matcher job = JOB_ID.matcher(cluster.get("/jobs/overview"));
        if (!job.find()) {
            return "no job running";
        }
        Matcher ack = LATEST_ACK.matcher(cluster.get("/jobs/" + job.group(1) + "/checkpoints"));
        if (!ack.find() || Long.parseLong(ack.group(1)) == 0) {
            return "no checkpoint completed yet";
        }
        return "last checkpoint " + (System.currentTimeMillis() - Long.parseLong(ack.group(1))) / 1000 + " s ago";
    }

}
