package io.csr.gateway.auth;

import java.time.Instant;
import java.util.Set;

/** The verified caller: token subject, the companies it may see, whether it has role {@code admin}, and expiry. */
public record Principal(String subject, Set<String> companies, boolean admin, Instant expiresAt) {
    public Principal {
        companies = Set.copyOf(companies);
    }

    public boolean grants(String companyId) {
        return companies.contains(companyId);
    }
}
