package io.csr.ops;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;

/** A bash script run with bin/csr's functions loaded ({@code source bin/csr help}): how the tests reach its shell side. */
final class CsrFunctions {
    static final Path CSR = DeploymentFilesTest.ROOT.resolve("bin/csr");

    private CsrFunctions() {
    }

    record Result(int exit, String out, String err) {
    }

    static Result run(Path state, String script) throws Exception {
        return run(state, script, env -> { });
    }

    /** With CSR_STATE_DIR={@code state}; {@code environment} adjusts the script's environment (and may remove that). */
    static Result run(Path state, String script, Consumer<Map<String, String>> environment) throws Exception {
        ProcessBuilder pb = new ProcessBuilder("bash", "-c", "source \"$CSR\" help >/dev/null; " + script);
        pb.environment().put("CSR_STATE_DIR", state.toString());
        environment.accept(pb.environment());
        pb.environment().put("CSR", CSR.toString());
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        byte[] err = p.getErrorStream().readAllBytes();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8), new String(err, StandardCharsets.UTF_8));
    }
}
