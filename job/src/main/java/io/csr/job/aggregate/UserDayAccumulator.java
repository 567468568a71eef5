package io.csr.job.aggregate;

import io.csr.common.sketch.QuantileBins;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.TreeMap;

/**
 * The running figures of one user's observations of one metric on one UTC day: exact count, sum, min, max and sum of
 * squares, and the mergeable quantile bins ({@link QuantileBins}). Also the firing bookkeeping: whether it changed
 * since its last row. Kept in the window operator's state as bytes ({@link #toBytes}, format version 1), so its
 * layout is this class's own and a savepoint holds nothing Flink would have to migrate.
 */
public final class UserDayAccumulator {
    private static final byte FORMAT = 1;

    long count;
    double sum;
    double min = Double.POSITIVE_INFINITY;
    double max = Double.NEGATIVE_INFINITY;
    double sumSq;
    final TreeMap<Integer, Long> bins = new TreeMap<>();
    boolean dirty;

    public void add(double value) {
        count++;
        sum += value;
        min = Math.min(min, value);
        max = Math.max(max, value);
        sumSq += value * value;
        bins.merge(QuantileBins.key(value), 1L, Long::sum);
        dirty = true;
    }

    public long count() {
        return count;
    }

    byte[] toBytes() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(48 + 12 * bins.size());
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeByte(FORMAT);
            out.writeLong(count);
            out.writeDouble(sum);
            out.writeDouble(min);
            out.writeDouble(max);
            out.writeDouble(sumSq);
            out.writeBoolean(dirty);
            out.writeInt(bins.size());
            for (Map.Entry<Integer, Long> bin : bins.entrySet()) {
                out.writeInt(bin.getKey());
                out.writeLong(bin.getValue());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    static UserDayAccumulator fromBytes(byte[] data) {
        UserDayAccumulator acc = new UserDayAccumulator();
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(data))) {
            byte format = in.readByte();
            if (format != FORMAT) {
                throw new IllegalStateException("user-day state written in format " + format + ", this job reads " + FORMAT
                        + ": restore with the version that wrote it, or start without that savepoint");
            }
            acc.count = in.readLong();
            acc.sum = in.readDouble();
            acc.min = in.readDouble();
            acc.max = in.readDouble();
            acc.sumSq = in.readDouble();
            acc.dirty = in.readBoolean();
            int n = in.readInt();
            for (int i = 0; i < n; i++) {
                acc.bins.put(in.readInt(), in.readLong());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return acc;
    }
}
