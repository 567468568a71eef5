package io.csr.job.upgrade;

import org.apache.flink.runtime.checkpoint.OperatorState;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;

import java.util.Collection;
import java.util.OptionalInt;
import java.util.TreeSet;

/**
 * The job's max parallelism (its number of key groups) for one start: {@code MAX_PARALLELISM} when it is set; else, on a
 * restore, the value the restored state was written with; else, on a fresh start, {@link #FRESH_DEFAULT}. Keyed state
 * cannot move between two values, so a restore with an explicit value that differs is refused here, naming both.
 *
 * <p>This is Flink's own rule, one level up: Flink adopts the state's max parallelism for a vertex whose max parallelism
 * was not set explicitly (StateAssignmentOperation: "if the max parallelism was not explicitly specified by the user, we
 * derive it from the state"), but its default for an unset value is derived from the parallelism (128 up to
 * parallelism 85), not one chosen for growth. So the job always sets a value, and chooses it here: an older deployment's
 * checkpoints and savepoints at 128 keep restoring at 128, a fresh deployment starts at {@link #FRESH_DEFAULT}.
 */
public final class MaxParallelismChoice {
    /**
     * Key groups of a fresh deployment: room for 1,024 subtasks of every keyed operator, i.e. rescaling to 64 times the
     * 16 subtasks 100k events/s needs (docs/scaling.md) without a state migration, and every power-of-two parallelism
     * up to it divides the key groups evenly. Measured against 128 and 4096 (docs/scaling.md, "MAX_PARALLELISM"): its
     * checkpoints are as large as 4096's, its start-up close to 128's.
     */
    public static final int FRESH_DEFAULT = 1024;

    /** The value and why, for the job's log. */
    public record Choice(int maxParallelism, String reason) {
    }

    private MaxParallelismChoice() {
    }

    /**
     * @param explicit      MAX_PARALLELISM when the operator set it, else empty
     * @param restorePath   the savepoint or checkpoint the job restores, else null (a fresh start)
     * @param restored      the max parallelism the restored state was written with ({@link #of}), empty when it holds none
     * @throws IllegalArgumentException when MAX_PARALLELISM is set and the restored state was written with another value
     */
    public static Choice choose(OptionalInt explicit, String restorePath, OptionalInt restored) {
        if (restorePath == null || restored.isEmpty()) {
            return explicit.isPresent()
                    ? new Choice(explicit.getAsInt(), "MAX_PARALLELISM=" + explicit.getAsInt())
                    : new Choice(FRESH_DEFAULT, "the default for a fresh start (MAX_PARALLELISM not set)");
        }
        int saved = restored.getAsInt();
        if (explicit.isEmpty()) {
            return new Choice(saved, "adopted from " + restorePath + ", whose state was written with it (MAX_PARALLELISM not set)");
        }
        if (explicit.getAsInt() != saved) {
            throw new IllegalArgumentException(mismatch(restorePath, saved, explicit.getAsInt()));
        }
        return new Choice(saved, "MAX_PARALLELISM=" + saved + ", as the state of " + restorePath + " was written with");
    }

    /** The refusal of a restore whose state has another max parallelism than MAX_PARALLELISM, with both values and the fix. */
    static String mismatch(String restorePath, int saved, int explicit) {
        return restorePath + " was written with max parallelism " + saved + ", but MAX_PARALLELISM=" + explicit
                + " is set; keyed state cannot move between the two. Leave MAX_PARALLELISM unset (the job then adopts the"
                + " savepoint's " + saved + ") or set MAX_PARALLELISM=" + saved + ", or start without this savepoint";
    }

    /**
     * The max parallelism a savepoint's or checkpoint's state was written with: the one value of its operators that hold
     * keyed state (else of all its operators). Empty when it has no operator state at all.
     *
     * @throws IllegalArgumentException when its operators were written with several values (only an explicit
     *                                  MAX_PARALLELISM can say which one this job should take)
     */
    public static OptionalInt of(Collection<OperatorState> saved) {
        TreeSet<Integer> keyed = new TreeSet<>();
        TreeSet<Integer> all = new TreeSet<>();
        for (OperatorState s : saved) {
            all.add(s.getMaxParallelism());
            if (hasKeyedState(s)) {
                keyed.add(s.getMaxParallelism());
            }
        }
        TreeSet<Integer> values = keyed.isEmpty() ? all : keyed;
        if (values.isEmpty()) {
            return OptionalInt.empty();
        }
        if (values.size() > 1) {
            throw new IllegalArgumentException("the restored state's operators were written with several max parallelisms "
                    + values + "; set MAX_PARALLELISM to the one of the keyed operators (this job sets a single value)");
        }
        return OptionalInt.of(values.first());
    }

    private static boolean hasKeyedState(OperatorState s) {
        for (OperatorSubtaskState sub : s.getStates()) {
            if (!sub.getManagedKeyedState().isEmpty() || !sub.getRawKeyedState().isEmpty()) {
                return true;
            }
        }
        return false;
    }
}
