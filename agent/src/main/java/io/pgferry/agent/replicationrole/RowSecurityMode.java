package io.pgferry.agent.replicationrole;

import com.fasterxml.jackson.annotation.JsonValue;
import io.pgferry.agent.problem.BadRequestException;

/**
 * How the initial copy gets past row-level security that would hide rows from the replication role (see
 * {@link RowSecurity}). Default {@link #POLICY}: it needs no superuser, so it works on managed services too, and it
 * shows the role nothing it could not already read: its REPLICATION attribute and the slot stream every change of
 * those tables to it, unfiltered.
 */
public enum RowSecurityMode {
    /**
     * A permissive {@code FOR SELECT TO pgferry_<m> USING (true)} policy named {@code pgferry_<m>} on each table that
     * needs it, while the copy runs; dropped once the copy is proven ({@code copied}), by cleanup otherwise.
     */
    POLICY,
    /** BYPASSRLS on the replication role while the copy runs: needs a superuser agent; covers restrictive policies. */
    BYPASSRLS,
    /** Nothing: a table whose rows would be hidden is a preflight error (exclude it, or fix it by hand). */
    NONE;

    public static RowSecurityMode parse(String field, String value) {
        if (value == null) {
            return POLICY;
        }
        return switch (value) {
            case "policy" -> POLICY;
            case "bypassrls" -> BYPASSRLS;
            case "none" -> NONE;
            default -> throw new BadRequestException(field, field + " must be policy, bypassrls or none");
        };
    }

    @JsonValue
    public String value() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
