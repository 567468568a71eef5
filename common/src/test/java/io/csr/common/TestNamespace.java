package io.csr.common;

import io.csr.common.config.CsrConfig;

import java.util.concurrent.ThreadLocalRandom;

/** A unique, valid name for a test's own ClickHouse database / PostgreSQL schema / key prefix. */
public final class TestNamespace {
    private TestNamespace() {
    }

    public static String unique(String prefix) {
        return prefix + "_" + Long.toString(ThreadLocalRandom.current().nextLong(Long.MAX_VALUE), 36);
    }

    /** Service addresses come from the environment (defaults are the local services bin/csr up provides). */
    public static CsrConfig config() {
        return CsrConfig.fromEnvironment();
    }
}
