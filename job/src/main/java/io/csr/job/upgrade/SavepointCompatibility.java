package io.csr.job.upgrade;

import org.apache.flink.runtime.OperatorIDPair;
import org.apache.flink.runtime.checkpoint.Checkpoints;
import org.apache.flink.runtime.checkpoint.OperatorState;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.jobgraph.JobVertex;
import org.apache.flink.runtime.jobgraph.OperatorID;
import org.apache.flink.runtime.state.CompletedCheckpointStorageLocation;
import org.apache.flink.runtime.state.filesystem.AbstractFsCheckpointStorageAccess;
import org.apache.flink.shaded.guava31.com.google.common.hash.Hashing;
import org.apache.flink.streaming.api.graph.StreamGraph;
import org.apache.flink.streaming.api.graph.StreamNode;

import java.io.DataInputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Whether a savepoint (or retained checkpoint) fits a job graph, said in the job's own words: which operator — by its
 * uid and name — or which savepoint state did not match, and what to do. {@link #check} runs on the client before a
 * submission (Flink itself would only fail the job on the JobManager, naming a 32-digit operator id);
 * {@link #explainFailure} translates the JobManager's error when a restore fails anyway.
 *
 * <p>Operator ids are Flink's: an operator with a uid has the id {@code murmur3_128(uid)} (StreamGraphHasherV2), so a
 * uid the job sets is recognised in any savepoint; an operator without a uid has a generated id that changes with the
 * topology, which is why every stateful operator of this job sets one (CsrPipeline.UID_*, CsrJob.*_UID).
 */
public final class SavepointCompatibility {
    private static final Pattern UNMAPPED = Pattern.compile("Cannot map checkpoint/savepoint state for operator ([0-9a-f]{32})");
    private static final Pattern MAX_PARALLELISM = Pattern.compile("(?i)max(imum)? ?parallelism");

    /** One operator of the job graph. */
    public record Operator(OperatorID id, String uid, String name, int parallelism, int maxParallelism) {
        String describe() {
            return uid != null ? "'" + uid + "' (" + name + ")" : "'" + name + "' (no uid, id " + id + ")";
        }
    }

    private final Map<OperatorID, Operator> operators;

    private SavepointCompatibility(Map<OperatorID, Operator> operators) {
        this.operators = operators;
    }

    /** The operators of a job: ids and parallelism from the job graph, uids and names from the stream graph. */
    public static SavepointCompatibility of(StreamGraph streamGraph, JobGraph jobGraph) {
        Map<OperatorID, String[]> named = new LinkedHashMap<>();
        for (StreamNode node : streamGraph.getStreamNodes()) {
            if (node.getTransformationUID() != null) {
                named.put(operatorId(node.getTransformationUID()), new String[]{node.getTransformationUID(), node.getOperatorName()});
            }
        }
        Map<OperatorID, Operator> operators = new LinkedHashMap<>();
        for (JobVertex v : jobGraph.getVertices()) {
            for (OperatorIDPair pair : v.getOperatorIDs()) {
                OperatorID id = pair.getUserDefinedOperatorID().orElse(pair.getGeneratedOperatorID());
                String[] uidAndName = named.getOrDefault(id, named.get(pair.getGeneratedOperatorID()));
                operators.put(id, new Operator(id, uidAndName == null ? null : uidAndName[0],
                        uidAndName == null ? v.getName() : uidAndName[1], v.getParallelism(), v.getMaxParallelism()));
            }
        }
        return new SavepointCompatibility(operators);
    }

    /** The id Flink gives an operator with this uid. */
    public static OperatorID operatorId(String uid) {
        return new OperatorID(Hashing.murmur3_128(0).newHasher().putString(uid, StandardCharsets.UTF_8).hash().asBytes());
    }

    public Collection<Operator> operators() {
        return operators.values();
    }

    /**
     * Reads the operator states of a savepoint or checkpoint directory (or its _metadata file).
     *
     * @throws IllegalArgumentException naming the path and what to do when it is missing or unreadable
     */
    public static Collection<OperatorState> load(String pointer) {
        CompletedCheckpointStorageLocation location;
        try {
            location = AbstractFsCheckpointStorageAccess.resolveCheckpointPointer(pointer);
        } catch (FileNotFoundException e) {
            throw new IllegalArgumentException("savepoint " + pointer + " does not exist or has no _metadata file (" + e.getMessage()
                    + "); list what there is with: ls $SAVEPOINT_DIR (savepoint-…) or $CHECKPOINT_DIR/<job-id>/ (chk-N), "
                    + "and pass the directory, e.g. --from-savepoint file:///…/savepoints/savepoint-1a2b3c-0123456789ab");
        } catch (IOException e) {
            throw new IllegalArgumentException("savepoint " + pointer + " cannot be read (" + e.getMessage()
                    + "); check the path and that this machine can reach its file system", e);
        }
        try (InputStream in = location.getMetadataHandle().openInputStream(); DataInputStream data = new DataInputStream(in)) {
            return Checkpoints.loadCheckpointMetadata(data, SavepointCompatibility.class.getClassLoader(), pointer).getOperatorStates();
        } catch (IOException e) {
            throw new IllegalArgumentException("savepoint " + pointer + " has an unreadable _metadata file (" + e.getMessage()
                    + "); it was cut short or written by an incompatible Flink version; take a new savepoint (bin/csr savepoint) "
                    + "or use an older complete one", e);
        }
    }

    /**
     * What keeps this job from restoring the given savepoint state; empty when it restores cleanly. Mirrors Flink's own
     * rules: state without an operator fails unless non-restored state is allowed (empty state is skipped), and keyed
     * state needs the same max parallelism.
     */
    public List<String> check(Collection<OperatorState> saved, boolean allowNonRestoredState) {
        List<String> problems = new ArrayList<>();
        List<OperatorState> orphans = new ArrayList<>();
        List<OperatorID> restored = new ArrayList<>();
        for (OperatorState s : saved) {
            Operator op = operators.get(s.getOperatorID());
            if (op == null) {
                if (hasState(s)) {
                    orphans.add(s);
                }
                continue;
            }
            restored.add(op.id());
            if (op.maxParallelism() > 0 && s.getMaxParallelism() != op.maxParallelism()) {
                problems.add("operator " + op.describe() + ": the savepoint's state was written with max parallelism "
                        + s.getMaxParallelism() + ", this job uses " + op.maxParallelism()
                        + "; keyed state cannot move between the two. Leave MAX_PARALLELISM unset (the job then adopts the"
                        + " savepoint's) or set MAX_PARALLELISM=" + s.getMaxParallelism()
                        + " (it must never change once state exists), or start without this savepoint");
            }
            if (op.parallelism() > s.getMaxParallelism()) {
                problems.add("operator " + op.describe() + ": parallelism " + op.parallelism() + " is above the savepoint's max parallelism "
                        + s.getMaxParallelism() + "; use --parallelism " + s.getMaxParallelism() + " or lower");
            }
        }
        if (!orphans.isEmpty() && !allowNonRestoredState) {
            List<String> unfed = operators.values().stream()
                    .filter(o -> o.uid() != null && !restored.contains(o.id()))
                    .map(Operator::describe).toList();
            for (OperatorState s : orphans) {
                problems.add("the savepoint holds state of operator id " + s.getOperatorID() + " (" + s.getStateSize()
                        + " bytes, parallelism " + s.getParallelism() + ") and this job has no operator with that id: its uid was "
                        + "changed or the operator was removed."
                        + (unfed.isEmpty() ? "" : " Operators of this job that find no state in the savepoint: "
                        + String.join(", ", unfed) + ".")
                        + " If a uid was renamed, give the operator its old uid back. Only if that operator was removed on purpose,"
                        + " re-submit with --allow-non-restored-state: its state is dropped — never do that for dedup, windows,"
                        + " journey or the ClickHouse sink (it would lose or double-count events)");
            }
        }
        return problems;
    }

    /** The JobManager's restore error (root cause message) turned into what went wrong here and what to do. */
    public String explainFailure(String flinkMessage) {
        String first = rootCause(flinkMessage);
        Matcher unmapped = UNMAPPED.matcher(flinkMessage);
        if (unmapped.find()) {
            return "the savepoint holds state of operator id " + unmapped.group(1) + " that this job does not have (a uid was"
                    + " changed or an operator removed). Give the operator its old uid back; only if it was removed on purpose,"
                    + " re-submit with --allow-non-restored-state (its state is dropped). Flink said: " + first;
        }
        String lower = flinkMessage.toLowerCase(Locale.ROOT);
        if (lower.contains("statemigrationexception") || lower.contains("incompatible")) {
            return "a state's type changed incompatibly between the savepoint and this job (" + operatorsNamedIn(flinkMessage)
                    + "). Restore the previous state class/serializer, or migrate the state with the State Processor API,"
                    + " or give that operator a new uid and re-submit with --allow-non-restored-state (its state starts empty)."
                    + " Flink said: " + first;
        }
        if (MAX_PARALLELISM.matcher(flinkMessage).find()) {
            return "the savepoint's max parallelism does not match this job's MAX_PARALLELISM; set MAX_PARALLELISM to the"
                    + " savepoint's value (it must never change once state exists). Flink said: " + first;
        }
        if (lower.contains("filenotfound") || lower.contains("cannot find checkpoint or savepoint")) {
            return "the JobManager cannot find the savepoint (it reads the path itself: use a path or URI every JobManager can"
                    + " reach, e.g. shared storage). Flink said: " + first;
        }
        return "the job failed while starting (" + operatorsNamedIn(flinkMessage) + "). Flink said: " + first;
    }

    /** The deepest "Caused by:" line of a stringified stack trace, else its first line. */
    static String rootCause(String trace) {
        String root = trace.lines().findFirst().orElse(trace);
        for (String line : trace.lines().toList()) {
            if (line.startsWith("Caused by: ")) {
                root = line.substring("Caused by: ".length());
            }
        }
        return root;
    }

    private String operatorsNamedIn(String message) {
        List<String> named = operators.values().stream()
                .filter(o -> message.contains(o.id().toString()) || (o.uid() != null && message.contains(o.uid()))
                        || message.contains(o.name()))
                .map(Operator::describe).collect(Collectors.toList());
        return named.isEmpty() ? "operator not named in Flink's message" : "operator " + String.join(", ", named);
    }

    private static boolean hasState(OperatorState s) {
        if (s.getCoordinatorState() != null) {
            return true;
        }
        for (OperatorSubtaskState sub : s.getStates()) {
            if (sub.hasState()) {
                return true;
            }
        }
        return false;
    }

    /** For tests: the operator with this uid, if the job has one. */
    public Optional<Operator> byUid(String uid) {
        return Optional.ofNullable(operators.get(operatorId(uid)));
    }
}
