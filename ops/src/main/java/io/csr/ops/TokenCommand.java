package io.csr.ops;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.csr.common.cli.CsrCommand;
import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code csr token --company X [--company Y] [--admin] [--operator] [--ttl 1h] [--sub name]}: mints an HS256 dev token with the
 * gateway's claims ({@code sub}, {@code exp}, {@code companies}, {@code roles}) signed with {@code JWT_SECRET} (the
 * same default as the gateway's). Prints only the token on stdout so it can be captured: {@code T=$(bin/csr token …)}.
 */
@Command(name = "token", mixinStandardHelpOptions = true,
        description = {"Print a dev JWT for the gateway, signed with JWT_SECRET (docs/streaming.md).",
                "Only the token goes to stdout, so it can be captured: T=$(bin/csr token --company acme)."})
final class TokenCommand extends CsrCommand {
    private static final Pattern TTL = Pattern.compile("(\\d{1,7})([smhd]?)");
    private static final Pattern COMPANY_ID = Pattern.compile("[A-Za-z0-9_-]{1,64}");

    @Option(names = "--company", paramLabel = "ID", split = ",", description = "a company the token may read (repeatable, or a,b)")
    List<String> companies = new ArrayList<>();

    @Option(names = "--admin", description = "admin of the companies given with --company (cohort editing)")
    boolean admin;

    @Option(names = "--operator", description = "platform staff: every company on /stream/stats; needs no --company")
    boolean operator;

    @Option(names = "--ttl", paramLabel = "DURATION", defaultValue = "1h", converter = TtlConverter.class,
            description = "lifetime: 90s, 30m, 1h or 7d (default: ${DEFAULT-VALUE}); at most JWT_MAX_LIFETIME_SECONDS")
    Duration ttl;

    @Option(names = "--sub", paramLabel = "NAME", defaultValue = "dev", description = "the token's subject (default: ${DEFAULT-VALUE})")
    String sub;

    @Override
    public Integer call() {
        CsrConfig config = config();
        for (String c : companies) {
            if (!COMPANY_ID.matcher(c).matches()) {
                throw usage("--company '" + c + "' must match [A-Za-z0-9_-]{1,64}");
            }
        }
        List<String> roles = new ArrayList<>();
        if (admin) {
            roles.add("admin");
        }
        if (operator) {
            roles.add("operator");
        }
        if (companies.isEmpty() && !operator) {
            throw usage("give at least one --company ID (an --admin is an admin of those companies only; "
                    + "only --operator may go without one); e.g. bin/csr token --company acme");
        }
        long maxLifetime = config.getLong(ConfigKey.JWT_MAX_LIFETIME_SECONDS, 1, Long.MAX_VALUE / 1000);
        if (ttl.toSeconds() > maxLifetime) {
            throw usage("--ttl " + ttl.toSeconds() + " s is longer than JWT_MAX_LIFETIME_SECONDS=" + maxLifetime
                    + ": the gateway would refuse the token; give a shorter --ttl (or raise JWT_MAX_LIFETIME_SECONDS for gateway and CLI alike)");
        }
        String secret = config.require(ConfigKey.JWT_SECRET);
        if (secret.equals(ConfigKey.JWT_SECRET.defaultValue())) {
            System.err.println("note: signed with the documented dev JWT_SECRET; the gateway accepts it only while it uses the default too");
        }
        String audience = config.get(ConfigKey.JWT_AUDIENCE).split(",")[0].trim();
        System.out.println(mint(secret, sub, companies, roles, Instant.now().plus(ttl), config.get(ConfigKey.JWT_ISSUER).trim(), audience));
        return 0;
    }

    /** {@code --ttl}: 90s, 30m, 1h, 7d. */
    static final class TtlConverter implements CommandLine.ITypeConverter<Duration> {
        @Override
        public Duration convert(String value) {
            try {
                return parseTtl(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException("'" + value + "' is not a lifetime; give 90s, 30m, 1h or 7d");
            }
        }
    }

    static String mint(String secret, String sub, List<String> companies, List<String> roles, Instant exp) {
        return mint(secret, sub, companies, roles, exp, "", "");
    }

    /** With {@code iss} / {@code aud} when not empty (the gateway requires them when JWT_ISSUER / JWT_AUDIENCE are set). */
    static String mint(String secret, String sub, List<String> companies, List<String> roles, Instant exp, String issuer, String audience) {
        JWTClaimsSet.Builder builder = new JWTClaimsSet.Builder();
        if (!issuer.isEmpty()) {
            builder.issuer(issuer);
        }
        if (!audience.isEmpty()) {
            builder.audience(audience);
        }
        JWTClaimsSet claims = builder
                .subject(sub)
                .issueTime(new Date())
                .expirationTime(Date.from(exp))
                .claim("companies", companies)
                .claim("roles", List.copyOf(roles))
                .build();
        SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), claims);
        try {
            jwt.sign(new MACSigner(secret.getBytes(StandardCharsets.UTF_8)));
        } catch (JOSEException e) {
            throw new IllegalArgumentException("JWT_SECRET cannot sign HS256 tokens (" + e.getMessage() + "); it needs at least 32 bytes", e);
        }
        return jwt.serialize();
    }

    static Duration parseTtl(String raw) {
        Matcher m = TTL.matcher(raw.trim().toLowerCase(Locale.ROOT));
        if (!m.matches()) {
            throw new IllegalArgumentException("--ttl '" + raw + "' must look like 90s, 30m, 1h or 7d");
        }
        long n = Long.parseLong(m.group(1));
        return switch (m.group(2)) {
            case "m" -> Duration.ofMinutes(n);
            case "h" -> Duration.ofHours(n);
            case "d" -> Duration.ofDays(n);
            default -> Duration.ofSeconds(n);
        };
    }
}
