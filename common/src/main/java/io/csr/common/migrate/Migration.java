package io.csr.common.migrate;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** One migration file {@code NNN_name.sql}: its version, name, checksum and statements. */
public record Migration(int version, String name, String checksum, List<String> statements, Path file) {
    static final Pattern FILE_NAME = Pattern.compile("(\\d{3,})_([A-Za-z0-9_]+)\\.sql");

    public static Migration read(Path file) {
        Matcher m = FILE_NAME.matcher(file.getFileName().toString());
        if (!m.matches()) {
            throw new MigrationException(file + " is not named NNN_description.sql (three or more digits, then letters, digits or _)");
        }
        try {
            byte[] bytes = Files.readAllBytes(file);
            String text = new String(bytes, StandardCharsets.UTF_8);
            List<String> statements = SqlScript.split(text);
            if (statements.isEmpty()) {
                throw new MigrationException(file + " holds no SQL statement");
            }
            return new Migration(Integer.parseInt(m.group(1)), m.group(2), sha256(bytes), statements, file);
        } catch (IOException e) {
            throw new MigrationException("cannot read " + file + ": " + e.getMessage());
        }
    }

    public String label() {
        return String.format("%03d_%s", version, name);
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
