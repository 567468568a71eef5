package io.csr.common.migrate;

/** A migration could not be read, verified or applied; the message names the file and what to do. */
public class MigrationException extends RuntimeException {
    public MigrationException(String message) {
        super(message);
    }

    public MigrationException(String message, Throwable cause) {
        super(message, cause);
    }
}
