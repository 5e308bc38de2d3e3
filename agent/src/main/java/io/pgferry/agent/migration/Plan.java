package io.pgferry.agent.migration;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * The statements a step found missing, each with the text the client may see. A step reads the catalogs, adds
 * what is needed here, then either runs it or (check mode) only reports it, so check mode and a real run can
 * never disagree about what would happen.
 */
public final class Plan {
    private record Entry(String sql, String shown, boolean secret) {
    }

    private final List<Entry> entries = new ArrayList<>();

    public Plan add(String sql) {
        entries.add(new Entry(sql, sql, false));
        return this;
    }

    /** A statement carrying a secret: {@code shown} is the same statement with the secret masked. */
    public Plan addSecret(String sql, String shown) {
        entries.add(new Entry(sql, shown, true));
        return this;
    }

    public boolean isEmpty() {
        return entries.isEmpty();
    }

    public List<String> shown() {
        return entries.stream().map(Entry::shown).toList();
    }

    /** Runs every statement in one transaction: all or nothing. */
    public void runInTransaction(Connection c) throws SQLException {
        if (entries.isEmpty()) {
            return;
        }
        quietLogsIfSecret(c);
        c.setAutoCommit(false);
        try (Statement st = c.createStatement()) {
            for (Entry e : entries) {
                st.execute(e.sql());
            }
            c.commit();
        } catch (SQLException | RuntimeException e) {
            c.rollback();
            throw e;
        } finally {
            c.setAutoCommit(true);
        }
    }

    /**
     * Runs the statements one by one in autocommit, for those PostgreSQL refuses inside a transaction block
     * (CREATE DATABASE, CREATE/DROP SUBSCRIPTION). A failure leaves the earlier ones done; steps order their
     * statements so that a rerun completes the rest.
     */
    public void runEach(Connection c) throws SQLException {
        if (entries.isEmpty()) {
            return;
        }
        quietLogsIfSecret(c);
        c.setAutoCommit(true);
        try (Statement st = c.createStatement()) {
            for (Entry e : entries) {
                st.execute(e.sql());
            }
        }
    }

    public <S> StepResult<S> result(boolean check, S state) {
        return new StepResult<>(!isEmpty(), check, shown(), state);
    }

    /** A statement carrying a password must not reach any log, statistics view or audit trail: see QuietSession. */
    private void quietLogsIfSecret(Connection c) throws SQLException {
        if (entries.stream().noneMatch(Entry::secret)) {
            return;
        }
        c.setAutoCommit(true);
        QuietSession.apply(c);
    }
}
