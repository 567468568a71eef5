package io.csr.job.model;

import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * Nullable strings on the wire as a length and UTF-8 bytes, copied in bulk (Flink's StringSerializer writes and reads
 * one char at a time). Length -1 is null.
 */
public final class WireStrings {
    private WireStrings() {
    }

    public static void write(String s, DataOutputView out) throws IOException {
        if (s == null) {
            out.writeInt(-1);
            return;
        }
        writeBytes(s.getBytes(StandardCharsets.UTF_8), out);
    }

    public static void writeBytes(byte[] utf8, DataOutputView out) throws IOException {
        out.writeInt(utf8.length);
        out.write(utf8);
    }

    public static String read(DataInputView in) throws IOException {
        byte[] bytes = readBytes(in);
        return bytes == null ? null : new String(bytes, StandardCharsets.UTF_8);
    }

    /** The bytes {@link #write} wrote, or null. */
    public static byte[] readBytes(DataInputView in) throws IOException {
        int length = in.readInt();
        if (length < 0) {
            return null;
        }
        byte[] bytes = new byte[length];
        in.readFully(bytes);
        return bytes;
    }

    /** Copies one string from {@code in} to {@code out} without decoding it. */
    public static void copy(DataInputView in, DataOutputView out) throws IOException {
        int length = in.readInt();
        out.writeInt(length);
        if (length > 0) {
            copyBytes(in, out, length);
        }
    }

    /**
     * Copies {@code count} bytes; not {@code out.write(in, count)}, which a DataOutputSerializer refuses beyond its
     * current capacity instead of growing.
     */
    public static void copyBytes(DataInputView in, DataOutputView out, int count) throws IOException {
        byte[] bytes = new byte[count];
        in.readFully(bytes);
        out.write(bytes);
    }
}
