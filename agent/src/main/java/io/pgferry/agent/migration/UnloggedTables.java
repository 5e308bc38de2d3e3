package io.pgferry.agent.migration;

import io.pgferry.agent.problem.BadRequestException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * What a migration does with unlogged tables in scope, whose rows write no WAL and so cannot replicate: {@code refuse}
 * them (the default: the preflight fails and the publication step refuses them), or move them {@code empty} - the
 * table and its indexes are created on the target, the rows stay behind and the publication leaves it out.
 */
public final class UnloggedTables {
    public static final String REFUSE = "refuse";
    public static final String EMPTY = "empty";
    private static final List<String> ALL = List.of(REFUSE, EMPTY);

    private UnloggedTables() {
    }

    /** The request's value, {@code refuse} when absent; anything else is a 400 naming the field. */
    public static String require(String value) {
        if (value == null) {
            return REFUSE;
        }
        if (!ALL.contains(value)) {
            throw new BadRequestException("unlogged_tables", "unlogged_tables must be refuse (the default) or "
                    + "empty (create them on the target without their rows)");
        }
        return value;
    }

    /**
     * The tables that are not unlogged on this server, for a publication: a scope that moved unlogged tables empty has
     * them here too (the reverse stream's publication on the target must leave them out as well).
     */
    public static List<TableRef> logged(Connection c, List<TableRef> tables) throws SQLException {
        Set<TableRef> unlogged = new HashSet<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT n.nspname, c.relname FROM unnest(?::text[], ?::text[]) "
                + "AS t(nsp, rel) JOIN pg_namespace n ON n.nspname = t.nsp JOIN pg_class c ON c.relnamespace = n.oid "
                + "AND c.relname = t.rel WHERE c.relpersistence = 'u'")) {
            ps.setArray(1, c.createArrayOf("text", tables.stream().map(TableRef::schema).toArray()));
            ps.setArray(2, c.createArrayOf("text", tables.stream().map(TableRef::name).toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    unlogged.add(new TableRef(rs.getString(1), rs.getString(2)));
                }
            }
        }
        return tables.stream().filter(t -> !unlogged.contains(t)).toList();
    }

    /** The unlogged tables of the scope that move without their rows (none when they are refused). */
    public static List<TableRef> movedEmpty(String mode, List<ScopedTable> tables) {
        return EMPTY.equals(mode) ? tables.stream().filter(t -> t.unlogged() && t.kind() == 'r')
                .map(ScopedTable::table).toList() : List.of();
    }
}
