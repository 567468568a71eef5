package io.csr.common.cli;

import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code KEY=VALUE} arguments (a picocli mixin): settings for this run over the environment's, each KEY a
 * {@link ConfigKey} — a misspelt key is a usage error, not a setting silently ignored.
 */
public final class ConfigOverrides {
    @Spec(Spec.Target.MIXEE)
    CommandSpec spec;

    @Parameters(paramLabel = "KEY=VALUE", arity = "0..*",
            description = "settings for this run over the environment's (see bin/csr config), e.g. JOB_PARALLELISM=2")
    List<String> settings = new ArrayList<>();

    /** The settings as given, checked: every KEY is a configuration key. */
    public Map<String, String> map() {
        Map<String, String> m = new LinkedHashMap<>();
        for (String kv : settings) {
            int eq = kv.indexOf('=');
            if (eq <= 0 || kv.startsWith("-")) {
                throw Cli.usage(spec, "'" + kv + "' is neither an option of this command nor a KEY=VALUE setting");
            }
            String key = kv.substring(0, eq);
            if (ConfigKey.byName(key).isEmpty()) {
                throw Cli.usage(spec, "'" + key + "' in '" + kv + "' is not a configuration key (bin/csr config lists them)");
            }
            m.put(key, kv.substring(eq + 1));
        }
        return m;
    }

    /** {@code base} with these settings over it. */
    public CsrConfig over(CsrConfig base) {
        return base.with(map());
    }

    /** The arguments as given (to hand on, e.g. to a job submitted to a cluster). */
    public List<String> raw() {
        return List.copyOf(settings);
    }
}
