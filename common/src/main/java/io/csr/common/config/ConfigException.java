package io.csr.common.config;

/** A configuration value is missing or malformed; the message names the key, the value and a fix. */
public final class ConfigException extends RuntimeException {
    public ConfigException(String message) {
        super(message);
    }
}
