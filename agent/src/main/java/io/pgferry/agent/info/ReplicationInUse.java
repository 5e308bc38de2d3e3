package io.pgferry.agent.info;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * What already holds the server's replication limits, by name, so a fleet's capacity check can count what is not its
 * own (another tool's slots and subscriptions, a physical standby's WAL sender) on top of its own streams.
 *
 * @param slots every replication slot's name (logical and physical, any database)
 * @param walSenders the slot each running WAL sender serves; empty for one without a slot (a standby's, a base backup)
 * @param subscriptions the enabled subscriptions of every database: each holds an apply worker and an origin
 */
public record ReplicationInUse(List<String> slots, List<String> walSenders, List<String> subscriptions) {
    static ReplicationInUse read(Connection c) throws SQLException {
        return new ReplicationInUse(
                names(c, "SELECT slot_name FROM pg_catalog.pg_replication_slots ORDER BY 1"),
                names(c, "SELECT coalesce(s.slot_name, '') FROM pg_catalog.pg_stat_replication r "
                        + "LEFT JOIN pg_catalog.pg_replication_slots s ON s.active_pid = r.pid ORDER BY 1"),
                names(c, "SELECT subname FROM pg_catalog.pg_subscription WHERE subenabled ORDER BY 1"));
    }

    private static List<String> names(Connection c, String sql) throws SQLException {
        List<String> out = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }
}
