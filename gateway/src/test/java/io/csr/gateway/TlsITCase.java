package io.csr.gateway;

import io.csr.common.config.ConfigKey;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The listener with GATEWAY_TLS_KEYSTORE set: a self-signed certificate made by keytool in the test; SSE over https. */
class TlsITCase {
    private static final String PASSWORD = "changeit-test";

    @Test
    void streamsOverHttpsWithASelfSignedCertificate(@TempDir Path dir) throws Exception {
        Path keystore = dir.resolve("gateway.p12");
        Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
        Process p = new ProcessBuilder(keytool.toString(), "-genkeypair", "-alias", "gateway", "-keyalg", "RSA", "-keysize", "2048",
                "-validity", "2", "-dname", "CN=127.0.0.1", "-ext", "SAN=ip:127.0.0.1,dns:localhost", "-storetype", "PKCS12",
                "-keystore", keystore.toString(), "-storepass", PASSWORD, "-keypass", PASSWORD).redirectErrorStream(true).start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(new String(p.getInputStream().readAllBytes())).isZero();

        try (GatewayFixture fx = new GatewayFixture(Map.of(ConfigKey.GATEWAY_TLS_KEYSTORE.name(), keystore.toString(),
                ConfigKey.GATEWAY_TLS_KEYSTORE_PASSWORD.name(), PASSWORD))) {
            assertThat(fx.base()).startsWith("https://");
            KeyStore trust = KeyStore.getInstance("PKCS12");
            try (InputStream in = Files.newInputStream(keystore)) {
                trust.load(in, PASSWORD.toCharArray());
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, tmf.getTrustManagers(), null);
            HttpClient https = HttpClient.newBuilder().sslContext(ctx).version(HttpClient.Version.HTTP_1_1).build();

            HttpResponse<String> metrics = https.send(HttpRequest.newBuilder(URI.create(fx.base() + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(metrics.statusCode()).isEqualTo(200);
            assertThat(metrics.body()).contains("csr_stream_connections");

            HttpResponse<InputStream> sse = https.send(HttpRequest.newBuilder(URI.create(fx.updatesUrl(fx.tokens.forCompany("tls"), null))).build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            assertThat(sse.statusCode()).isEqualTo(200);
            try (InputStream body = sse.body()) {
                byte[] first = body.readNBytes("retry: 3000\n\n".length()); // 1500..4500: four digits (SseFrames.retry)
                assertThat(new String(first)).matches("retry: \\d{4}\n\n");
            }

            HttpClient plain = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            String plainUrl = fx.base().replace("https://", "http://") + "/metrics";
            assertThat(org.assertj.core.api.Assertions.catchThrowable(() ->
                    plain.send(HttpRequest.newBuilder(URI.create(plainUrl)).timeout(java.time.Duration.ofSeconds(5)).build(),
                            HttpResponse.BodyHandlers.ofString()))).as("plain HTTP is not served on the TLS listener").isNotNull();
        }
    }
}
