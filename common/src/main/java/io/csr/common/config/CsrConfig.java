package io.csr.common.config;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Configuration read once per process (environment, then {@code -D} overrides) and handed down. Typed getters
 * validate and name the key and the bad value in their errors.
 */
public final class CsrConfig {
    private final Map<String, String> values;

    private CsrConfig(Map<String, String> values) {
        this.values = Map.copyOf(values);
    }

    /** The process environment, overridden by system properties of the same name. */
    public static CsrConfig fromEnvironment() {
        Map<String, String> merged = new HashMap<>(System.getenv());
        for (ConfigKey key : ConfigKey.values()) {
            String prop = System.getProperty(key.name());
            if (prop != null) {
                merged.put(key.name(), prop);
            }
        }
        return new CsrConfig(merged);
    }

    public static CsrConfig of(Map<String, String> values) {
        return new CsrConfig(values);
    }

    /** A copy with some keys replaced (tests use it for their own namespaces). */
    public CsrConfig with(Map<String, String> overrides) {
        Map<String, String> merged = new HashMap<>(values);
        merged.putAll(overrides);
        return new CsrConfig(merged);
    }

    public CsrConfig with(ConfigKey key, String value) {
        return with(Map.of(key.name(), value));
    }

    /** Whether {@code key} was given (environment, {@code -D} or an override), as opposed to falling back to its default. */
    public boolean isSet(ConfigKey key) {
        return values.containsKey(key.name());
    }

    public String get(ConfigKey key) {
        String v = values.get(key.name());
        return v == null ? key.defaultValue() : v;
    }

    /** CSR_STATE_DIR with {@code <repo>} standing for the checkout at {@code repoRoot}: absolute and normalised. */
    public Path stateDir(Path repoRoot) {
        return Path.of(get(ConfigKey.CSR_STATE_DIR).replace("<repo>", repoRoot.toString())).toAbsolutePath().normalize();
    }

    public int getInt(ConfigKey key) {
        return (int) getLong(key, Integer.MIN_VALUE, Integer.MAX_VALUE);
    }

    public long getLong(ConfigKey key) {
        return getLong(key, Long.MIN_VALUE, Long.MAX_VALUE);
    }

    public long getLong(ConfigKey key, long min, long max) {
        String raw = get(key).trim();
        long v;
        try {
            v = Long.parseLong(raw);
        } catch (NumberFormatException e) {
            throw new ConfigException(key.name() + "='" + raw + "' is not a whole number; set it to e.g. " + key.defaultValue());
        }
        if (v < min || v > max) {
            throw new ConfigException(key.name() + "=" + v + " is out of range [" + min + ", " + max + "]; default is " + key.defaultValue());
        }
        return v;
    }

    public boolean getBoolean(ConfigKey key) {
        String raw = get(key).trim().toLowerCase(java.util.Locale.ROOT);
        switch (raw) {
            case "true": case "1": case "yes": case "on": return true;
            case "false": case "0": case "no": case "off": case "": return false;
            default: throw new ConfigException(key.name() + "='" + raw + "' is not a boolean; use true or false");
        }
    }

    /** A value that must be set (no usable default), e.g. a secret. */
    public String require(ConfigKey key) {
        String v = get(key);
        if (v == null || v.isBlank()) {
            throw new ConfigException(key.name() + " is not set; " + key.description());
        }
        return v;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CsrConfig && ((CsrConfig) o).values.equals(values);
    }

    @Override
    public int hashCode() {
        return Objects.hash(values);
    }
}
