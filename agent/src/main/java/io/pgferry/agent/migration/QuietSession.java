package io.pgferry.agent.migration;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place that keeps a secret-carrying statement ({@code CREATE/ALTER ROLE .. PASSWORD}, {@code CREATE/ALTER
 * SUBSCRIPTION .. CONNECTION}, the preflight's dblink conninfo) out of everything PostgreSQL 14-18 records about a
 * statement: applied to the session before such a statement runs, for the rest of that (short-lived) session.
 * Most of these are superuser settings; where the agent's role may not change one, the server's own value stays in
 * force, and the agent's log says which setting may then record the statement.
 */
public final class QuietSession {
    private static final Logger LOG = LoggerFactory.getLogger(QuietSession.class);

    /** A setting that writes statement text (or bind parameter values) somewhere, and its value that does not. */
    record Quiet(String name, String value, String records) {
    }

    static final List<Quiet> SETTINGS = List.of(
            new Quiet("log_statement", "none", "every DDL statement in the server log"),
            new Quiet("log_min_error_statement", "panic", "a failed statement's text in the server log"),
            new Quiet("log_min_duration_statement", "-1", "statements over a duration, with parse/bind/execute lines"),
            new Quiet("log_min_duration_sample", "-1", "a sample of statements over a duration"),
            new Quiet("log_statement_sample_rate", "0", "(the rate of that sample)"),
            new Quiet("log_transaction_sample_rate", "0", "every statement of a sample of transactions"),
            new Quiet("log_parameter_max_length", "0", "bind parameter values beside logged statements"),
            new Quiet("log_parameter_max_length_on_error", "0", "bind parameter values beside failed statements"),
            new Quiet("debug_print_parse", "off", "the parse tree, string constants included"),
            new Quiet("debug_print_rewritten", "off", "the rewritten parse tree"),
            new Quiet("debug_print_plan", "off", "the plan tree"),
            new Quiet("track_activities", "off", "the running statement in pg_stat_activity"),
            // Extensions' settings: placeholders when the extension is not loaded, so setting them is harmless.
            new Quiet("pg_stat_statements.track", "none", "the statement text (passwords in DDL verbatim) in"
                    + " pg_stat_statements"),
            new Quiet("auto_explain.log_min_duration", "-1", "query text and parameters of explained statements"),
            new Quiet("pgaudit.log", "none", "audited statements, DDL and ROLE classes included"));

    private QuietSession() {
    }

    /**
     * Turns every setting of {@link #SETTINGS} to its quiet value for this session.
     *
     * @return the settings that could not be changed and still record statements (empty: fully quiet)
     */
    public static List<String> apply(Connection c) throws SQLException {
        List<String> loud = new ArrayList<>();
        for (Quiet q : SETTINGS) {
            try (Statement st = c.createStatement()) {
                st.execute("SET " + q.name() + " = '" + q.value() + "'");
            } catch (SQLException e) {
                if (e.getSQLState() != null && e.getSQLState().startsWith("08")) {
                    throw e;
                }
                String current = current(c, q.name());
                if (current != null && !current.equals(q.value())) {
                    loud.add(q.name() + " = " + current + " (" + q.records() + ")");
                }
            }
        }
        if (!loud.isEmpty()) {
            LOG.warn("the agent's role may not quiet these settings, so PostgreSQL may record a statement carrying a"
                    + " password: {}; see docs/security.md, \"Secrets\"", String.join("; ", loud));
        }
        return loud;
    }

    private static String current(Connection c, String name) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT current_setting(?, true)")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }
}
