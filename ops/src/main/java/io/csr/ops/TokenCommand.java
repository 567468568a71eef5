package io.csr.ops;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.csr.common.config.ConfigKey;
import io.csr.common.config.CsrConfig;

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
final class TokenCommand implements Main.Command {
    private static final Pattern TTL = Pattern.compile("(\\d{1,7})([smhd]?)");
    private static final Pattern COMPANY_ID = Pattern.compile("[A-Za-z0-9_-]{1,64}");

    @Override
    public String summary() {
        return "mint a dev JWT: --company ID (repeatable or a,b) [--admin] [--operator] [--ttl 1h] [--sub NAME]";
    }

    @Override
    public int run(CsrConfig config, String[] args) {
        List<String> companies = new ArrayList<>();
        List<String> roles = new ArrayList<>();
        Duration ttl = Duration.ofHours(1);
        String sub = "dev";
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--company" -> {
                    for (String c : value(args, ++i, "--company").split(",")) {
                        if (!COMPANY_ID.matcher(c).matches()) {
                            throw new IllegalArgumentException("--company '" + c + "' must match [A-Za-z0-9_-]{1,64}");
                        }
                        companies.add(c);
                    }
                }
                case "--admin" -> roles.add("admin");        // admin of the companies given with --company
                case "--operator" -> roles.add("operator");  // platform staff: every company on /stream/stats
                case "--ttl" -> ttl = parseTtl(value(args, ++i, "--ttl"));
                case "--sub" -> sub = value(args, ++i, "--sub");
                default -> throw new IllegalArgumentException("unknown option '" + args[i] + "'; usage: csr token --company ID [--admin] [--operator] [--ttl 1h] [--sub NAME]");
            }
        }
        if (companies.isEmpty() && !roles.contains("operator")) {
            throw new IllegalArgumentException("give at least one --company ID (an --admin is an admin of those companies only; "
                    + "only --operator may go without one); e.g. bin/csr token --company acme");
        }
        String secret = config.require(ConfigKey.JWT_SECRET);
        if (secret.equals(ConfigKey.JWT_SECRET.defaultValue())) {
            System.err.println("note: signed with the documented dev JWT_SECRET; the gateway accepts it only while it uses the default too");
        }
        System.out.println(mint(secret, sub, companies, roles, Instant.now().plus(ttl)));
        return 0;
    }

    static String mint(String secret, String sub, List<String> companies, List<String> roles, Instant exp) {
        JWTClaimsSet claims = new JWTClaimsSet.Builder()
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

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args[i];
    }
}
