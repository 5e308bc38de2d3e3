package io.pgferry.agent.subscription;

import io.pgferry.agent.http.ApiException;
import io.pgferry.agent.sql.Sql;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/** What pg_subscription (one catalog for the whole cluster) says about the migration's subscription. */
final class SubscriptionCatalog {
    /**
     * @param streaming {@code on}, {@code off} or {@code parallel}
     * @param conninfo null when the agent's role may not read it (only superusers can)
     */
    record Existing(boolean enabled, boolean binary, String streaming, String conninfo, String slotName,
                    List<String> publications) {
    }

    private static final String SUBSCRIPTIONS = """
            SELECT d.datname = current_database(), d.datname, s.subenabled, s.subbinary, s.substream::text,
                   %s, s.subslotname, s.subpublications
            FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid
            WHERE s.subname = ?""";

    private SubscriptionCatalog() {
    }

    /**
     * @throws ApiException 409 when a subscription of this name lives in another database: both would use the
     *                      same slot name on the source
     */
    static Optional<Existing> read(Connection c, String name) throws SQLException {
        try {
            return read(c, name, "s.subconninfo");
        } catch (SQLException e) {
            if (!"42501".equals(e.getSQLState())) {
                throw e;
            }
            return read(c, name, "NULL");
        }
    }

    private static Optional<Existing> read(Connection c, String name, String conninfoColumn) throws SQLException {
        Existing here = null;
        try (PreparedStatement st = c.prepareStatement(SUBSCRIPTIONS.formatted(conninfoColumn))) {
            st.setString(1, name);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    if (!rs.getBoolean(1)) {
                        throw ApiException.conflict("subscription_conflict", "subscription " + Sql.ident(name)
                                + " exists in database " + rs.getString(2) + " of this server; one migration id "
                                + "serves one database (its slot name must be unique on the source): use another "
                                + "migration id or drop that subscription", List.of(rs.getString(2)));
                    }
                    Array pubs = rs.getArray(8);
                    here = new Existing(rs.getBoolean(3), rs.getBoolean(4), streaming(rs.getString(5)),
                            rs.getString(6), rs.getString(7), Arrays.asList((String[]) pubs.getArray()));
                }
            }
        }
        return Optional.ofNullable(here);
    }

    /** substream is a boolean before 16 and a char (f, t, p) from 16. */
    private static String streaming(String value) {
        return switch (value) {
            case "t", "true" -> "on";
            case "p" -> "parallel";
            default -> "off";
        };
    }
}
