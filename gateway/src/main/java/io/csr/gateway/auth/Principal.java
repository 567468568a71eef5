package io.csr.gateway.auth;

import java.time.Instant;
import java.util.Set;

/**
 * The verified caller: token subject, the companies it may see, its roles and expiry.
 *
 * <p>Tenant isolation lives in two methods and nowhere else: {@link #isAdminOf(String)} — role {@code admin} is an
 * admin <em>of the companies in its token only</em> (a customer's admin manages its own company, never sees another) —
 * and {@link #isOperator()} — role {@code operator}, the platform's own staff, the only one with platform-wide views.
 */
public record Principal(String subject, Set<String> companies, Set<String> roles, Instant expiresAt) {
    public static final String ROLE_ADMIN = "admin";
    public static final String ROLE_OPERATOR = "operator";

    public Principal {
        companies = Set.copyOf(companies);
        roles = Set.copyOf(roles);
    }

    /** The token grants this company (a plain member, an admin of it, or an operator who listed it). */
    public boolean grants(String companyId) {
        return companies.contains(companyId);
    }

    /** Role {@code admin} and the company is one of the token's companies: may manage that company. */
    public boolean isAdminOf(String companyId) {
        return roles.contains(ROLE_ADMIN) && grants(companyId);
    }

    /** Role {@code operator}: the platform's staff; may see every company on platform-wide views (e.g. /stream/stats). */
    public boolean isOperator() {
        return roles.contains(ROLE_OPERATOR);
    }
}
