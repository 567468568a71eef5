package io.csr.job.journey;

import io.csr.common.contract.JourneyUpdate;
import io.csr.common.contract.UpdateType;
import io.csr.job.model.CsrEvent;
import io.csr.job.model.RedisUpdate;
import io.csr.job.rows.RowFormat;
import io.csr.job.rows.UpdateVersion;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Per (company, flag): which users have the flag set, and how many. A journey event sets or clears one user's flag;
 * when that changes the company's count, a {@code journey_flag_updated} update carries the new absolute
 * {@code usersFlagged}. Per user the latest {@code occurredAt} wins: an event older than the one already applied is
 * ignored, so out-of-order delivery cannot leave a stale flag. Each update carries a {@code version} ({@link UpdateVersion}):
 * major +1 per update of the (company, flag), kept in state, so a dashboard drops a stale repeat after the job restored a
 * checkpoint; tag the time of the update, so a replay that reaches the same update number in another order than the run
 * that died (another count) publishes it under another, higher version.
 */
public class JourneyTracker extends KeyedProcessFunction<String, CsrEvent, RedisUpdate> {
    private static final long serialVersionUID = 1L;

    /**
     * Per user: occurredAt of the last applied event, negated when that event cleared the flag (encoding the flag in
     * the sign keeps one map entry per user). Stored as (occurredAtMs + 1) so a cleared flag at epoch 0 stays negative.
     */
    private transient MapState<String, Long> users;
    private transient ValueState<Long> flagged;
    /** Version of the last update of this (company, flag): its major +1 per update, checkpointed. */
    private transient ValueState<Long> version;

    /** Flag names match [a-z0-9_] and company ids [A-Za-z0-9_-], so '|' separates them unambiguously. */
    public static String key(CsrEvent event) {
        return event.companyId + "|" + event.name;
    }

    @Override
    public void open(OpenContext openContext) {
        users = getRuntimeContext().getMapState(new MapStateDescriptor<>("users", Types.STRING, Types.LONG));
        flagged = getRuntimeContext().getState(new ValueStateDescriptor<>("users-flagged", Types.LONG));
        version = getRuntimeContext().getState(new ValueStateDescriptor<>("update-version", Types.LONG));
    }

    @Override
    public void processElement(CsrEvent event, Context ctx, Collector<RedisUpdate> out) throws Exception {
        Long previous = users.get(event.userId);
        if (previous != null && event.occurredAtMs < Math.abs(previous) - 1) {
            return; // older than what this user's flag already reflects
        }
        boolean wasSet = previous != null && previous > 0;
        long stamp = event.occurredAtMs + 1;
        users.put(event.userId, event.flag ? stamp : -stamp);
        if (wasSet == event.flag) {
            return; // no change to the company's count
        }
        long count = (flagged.value() == null ? 0L : flagged.value()) + (event.flag ? 1 : -1);
        flagged.update(count);
        long last = version.value() == null ? 0L : version.value();
        long next = UpdateVersion.next(last, UpdateVersion.major(last) + 1, ctx.timerService().currentProcessingTime());
        version.update(next);
        JourneyUpdate data = new JourneyUpdate(event.companyId, event.name, count, event.userId, event.flag,
                RowFormat.isoInstant(event.occurredAtMs), next);
        out.collect(new RedisUpdate(event.companyId, UpdateType.JOURNEY_FLAG_UPDATED.wireName(), RowFormat.json(data)));
    }
}
