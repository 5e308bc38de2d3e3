package io.pgferry.agent.stopreplication;

import io.pgferry.agent.migration.Plan;
import io.pgferry.agent.sql.Sql;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Optional;

/** Dropping a subscription of this database, with its slot on the publisher when that can be reached. */
public final class Subscriptions {
    private static final String READ = """
            SELECT subenabled, subslotname FROM pg_subscription
            WHERE subname = ? AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())""";

    private Subscriptions() {
    }

    /** @return whether it exists: {enabled, slot name or null} */
    public static Optional<Object[]> read(Connection c, String name) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(READ)) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(new Object[] {rs.getBoolean(1), rs.getString(2)}) : Optional.empty();
            }
        }
    }

    /**
     * Plans DISABLE and DROP. With {@code detach}, the subscription is first detached from its slot (the
     * publisher is gone, or its slot is dropped on that side by cleanup), so DROP never needs the publisher.
     */
    public static void plan(Plan plan, Connection c, String name, boolean detach) throws SQLException {
        Optional<Object[]> existing = read(c, name);
        if (existing.isEmpty()) {
            return;
        }
        String ident = Sql.ident(name);
        if ((Boolean) existing.get()[0]) {
            plan.add("ALTER SUBSCRIPTION " + ident + " DISABLE");
        }
        if (detach && existing.get()[1] != null) {
            plan.add("ALTER SUBSCRIPTION " + ident + " SET (slot_name = NONE)");
        }
        plan.add("DROP SUBSCRIPTION " + ident);
    }
}
