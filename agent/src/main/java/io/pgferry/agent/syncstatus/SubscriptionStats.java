package io.pgferry.agent.syncstatus;

import com.fasterxml.jackson.databind.JsonNode;
import io.pgferry.agent.json.Json;
import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A subscription's error and conflict counters ({@code pg_stat_subscription_stats}: errors from PostgreSQL 15, the
 * {@code confl_*} conflict counters from 18). A conflict counted there is a change the target could not apply as
 * the source made it - an UPDATE or DELETE of a row the target does not have, a row that exists already: the two
 * sides have diverged. PostgreSQL names the table only in its server log ({@code conflict detected on relation
 * "s.t": conflict=update_missing}); when the agent may read the current log file (logging_collector, and superuser
 * or pg_read_server_files), the tables are taken from there.
 *
 * @param counters every counter PostgreSQL has for the subscription (names as in the view), absent before 15
 * @param conflicts the non-zero {@code confl_*} counters
 * @param conflictTables the tables the server log names for this subscription's conflicts, with their kinds
 * @param conflictTablesUnknown why the tables could not be read from the log, when there are conflicts
 */
public record SubscriptionStats(Map<String, Long> counters, Map<String, Long> conflicts, List<String> conflictTables,
                                String conflictTablesUnknown) {
    private static final String STATS = "SELECT to_jsonb(s)::text FROM pg_stat_subscription_stats s WHERE subid = ?";
    /** The subscription's tables as the log writes them (schema.name, unquoted) and as pgferry quotes them. */
    private static final String TABLES = """
            SELECT n.nspname || '.' || c.relname,
                   '"' || replace(n.nspname, '"', '""') || '"."' || replace(c.relname, '"', '""') || '"'
            FROM pg_subscription_rel r JOIN pg_class c ON c.oid = r.srrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE r.srsubid = ?""";
    private static final String LOG = """
            SELECT f, pg_read_binary_file(f, greatest((pg_stat_file(f)).size - ?, 0), ?)
            FROM pg_current_logfile() AS f WHERE f IS NOT NULL""";
    /** How much of the end of the log is read for table names. */
    private static final long LOG_TAIL_BYTES = 16L * 1024 * 1024;
    private static final Pattern CONFLICT = Pattern.compile(
            "conflict detected on relation \"(.+?)\": conflict=([a-z_]+)");
    private static final Pattern ORIGIN = Pattern.compile("replication origin \"pg_(\\d+)\"");
    private static final int LOOK_AHEAD_LINES = 6;
    /** How much of the end of the log is read for a worker's last error: it repeats every few seconds. */
    private static final long ERROR_TAIL_BYTES = 256L * 1024;

    public static final SubscriptionStats NONE = new SubscriptionStats(Map.of(), Map.of(), List.of(), null);

    public boolean diverged() {
        return !conflicts.isEmpty();
    }

    /** The counters of subscription {@code subid}; {@link #NONE} before PostgreSQL 15. */
    public static SubscriptionStats read(Connection c, long subid, int major) throws SQLException {
        if (major < 15) {
            return NONE;
        }
        Map<String, Long> counters = new TreeMap<>();
        try (PreparedStatement ps = c.prepareStatement(STATS)) {
            ps.setLong(1, subid);
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    JsonNode row = Json.MAPPER.readTree(rs.getString(1));
                    row.fields().forEachRemaining(e -> {
                        if (e.getValue().isIntegralNumber() && (e.getKey().endsWith("_count")
                                || e.getKey().startsWith("confl_"))) {
                            counters.put(e.getKey(), e.getValue().asLong());
                        }
                    });
                }
            } catch (IOException e) {
                throw new SQLException("unreadable pg_stat_subscription_stats row", e);
            }
        }
        Map<String, Long> conflicts = new TreeMap<>();
        counters.forEach((k, v) -> {
            if (k.startsWith("confl_") && v > 0) {
                conflicts.put(k, v);
            }
        });
        if (conflicts.isEmpty()) {
            return new SubscriptionStats(counters, conflicts, List.of(), null);
        }
        List<String> tables = new ArrayList<>();
        String unknown = conflictTables(c, subid, tables);
        return new SubscriptionStats(counters, conflicts, tables, unknown);
    }

    /** The workers' error counts of subscription {@code subid} (PostgreSQL 15+), with the apply worker's last. */
    static SyncStatus.Errors errors(Connection c, long subid) throws SQLException {
        long apply = 0;
        long sync = 0;
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT apply_error_count, sync_error_count FROM pg_stat_subscription_stats WHERE subid = ?")) {
            ps.setLong(1, subid);
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    apply = rs.getLong(1);
                    sync = rs.getLong(2);
                }
            }
        }
        return new SyncStatus.Errors(apply, sync, apply == 0 ? null : lastApplyError(c, subid));
    }

    /** The last ERROR line of the server log whose CONTEXT names the subscription's origin, or why there is none. */
    private static String lastApplyError(Connection c, long subid) {
        LogTail tail = logTail(c, ERROR_TAIL_BYTES, "the apply worker's ERROR");
        if (tail.text() == null) {
            return "not known: " + tail.unread();
        }
        String text = tail.text();
        String[] lines = text.split("\n");
        for (int i = lines.length - 1; i >= 0; i--) {
            int at = lines[i].indexOf("ERROR:  ");
            if (at < 0) {
                continue;
            }
            for (int j = i + 1; j < Math.min(lines.length, i + 1 + LOOK_AHEAD_LINES); j++) {
                Matcher o = ORIGIN.matcher(lines[j]);
                if (o.find()) {
                    if (o.group(1).equals(Long.toString(subid))) {
                        int context = lines[j].indexOf("CONTEXT:  ");
                        return lines[i].substring(at + "ERROR:  ".length()).strip()
                                + (context < 0 ? "" : " (" + lines[j].substring(context + "CONTEXT:  ".length())
                                .strip() + ")");
                    }
                    break;
                }
            }
        }
        return "not known: the last " + ERROR_TAIL_BYTES / 1024 + " KiB of the server log hold no error of it";
    }

    /** Fills {@code into} from the server log; answers why it could not, or null. */
    private static String conflictTables(Connection c, long subid, List<String> into) {
        LogTail tail = logTail(c, LOG_TAIL_BYTES, "\"conflict detected on relation\"");
        if (tail.text() == null) {
            return tail.unread();
        }
        String text = tail.text();
        Map<String, String> quoted = new java.util.HashMap<>();
        try (PreparedStatement ps = c.prepareStatement(TABLES)) {
            ps.setLong(1, subid);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    quoted.put(rs.getString(1), rs.getString(2));
                }
            }
        } catch (SQLException e) {
            return "the subscription's tables could not be read";
        }
        Map<String, TreeSet<String>> byTable = new TreeMap<>();
        String[] lines = text.split("\n");
        for (int i = 0; i < lines.length; i++) {
            Matcher m = CONFLICT.matcher(lines[i]);
            if (!m.find()) {
                continue;
            }
            for (int j = i + 1; j < Math.min(lines.length, i + 1 + LOOK_AHEAD_LINES); j++) {
                Matcher o = ORIGIN.matcher(lines[j]);
                if (o.find()) {
                    if (o.group(1).equals(Long.toString(subid))) {
                        byTable.computeIfAbsent(quoted.getOrDefault(m.group(1), m.group(1)), k -> new TreeSet<>())
                                .add(m.group(2));
                    }
                    break;
                }
            }
        }
        byTable.forEach((table, kinds) -> into.add(table + " (" + String.join(", ", kinds) + ")"));
        return into.isEmpty() ? "the last " + LOG_TAIL_BYTES / (1024 * 1024) + " MiB of the server log name no "
                + "table for this subscription (rotated away?)" : null;
    }

    /** The end of the current server log file; or, with {@code text} null, why the agent cannot read it. */
    private record LogTail(String text, String unread) {
    }

    private static LogTail logTail(Connection c, long bytes, String lookFor) {
        try (PreparedStatement ps = c.prepareStatement(LOG)) {
            ps.setLong(1, bytes);
            ps.setLong(2, bytes);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return new LogTail(null, "the server log is not written by PostgreSQL's logging collector, so "
                            + "the agent cannot read it: look for " + lookFor + " in the target's log");
                }
                // Bytes: the tail may begin inside a multi-byte character.
                return new LogTail(new String(rs.getBytes(2), java.nio.charset.StandardCharsets.UTF_8), null);
            }
        } catch (SQLException e) {
            return new LogTail(null, "the agent's role may not read the server log (superuser or "
                    + "pg_read_server_files): look for " + lookFor + " in the target's log");
        }
    }
}
