package io.pgferry.agent.largeobjects;

import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.migration.Sessions;
import io.pgferry.agent.migration.StepResult;
import io.pgferry.agent.migration.Steps;
import io.pgferry.agent.postgres.PgConnector;
import io.pgferry.agent.problem.ApiException;
import io.pgferry.agent.problem.BadRequestException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Logical replication does not carry large objects. Each side reads its own (scan, export) or makes them what the other
 * side sent (import); the module in between decides what to send from both scans, pipes one side's export into the
 * other's import untouched, and stores each side's {@link Mark} once a sync is complete - so the next sync, inside the
 * cutover's pause, finds what changed since by the rows' transaction ids instead of reading every object's content.
 */
public final class LargeObjectsService {
    private static final Duration TIMEOUT = Duration.ofHours(1);

    /** @param mark as stored now */
    public record MarkState(String database, Mark mark) {
    }

    private final PgConnector connector;
    private final Path stateDir;

    public LargeObjectsService(PgConnector connector, Path stateDir) {
        this.connector = connector;
        this.stateDir = stateDir;
    }

    /**
     * This side's large objects in one snapshot: all oids, those changed since this side's mark, comment digests,
     * and with {@code digests} ({@code auto}: only when there is no usable mark) each object's full digest.
     */
    public Scan scan(MigrationId migration, String database, String digests) {
        if (!List.of("auto", "true", "false").contains(digests)) {
            throw new BadRequestException("digests", "digests must be auto, true or false");
        }
        try (Connection c = Steps.openSettingReadOnly(connector, database, TIMEOUT, true)) {
            c.setAutoCommit(false);
            c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            try {
                long[] snapshot = LoCatalog.snapshot(c);
                boolean readable = LoCatalog.pagesReadable(c);
                Mark mark = readable ? new LoState(stateDir, migration).read(database).map(LoState.Saved::mark)
                        .filter(m -> valid(m, snapshot[1])).orElse(null) : null;
                List<Long> oids = LoCatalog.oids(c);
                List<Long> changed = mark == null ? null : LoCatalog.changedSince(c, mark);
                Map<String, String> digestMap = digests.equals("true") || (digests.equals("auto") && mark == null)
                        ? digests(c, oids) : null;
                return new Scan(database, oids.size(), oids, mark, changed, Long.toString(snapshot[0]),
                        LoCatalog.commentDigests(c), digestMap, readable ? "xmin" : "digests");
            } finally {
                c.rollback();
            }
        } catch (SQLException e) {
            throw connector.translate(e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Writes the asked objects as a {@link LoStream} to the stream {@code out} supplies, read in one snapshot;
     * nothing is written before the first catalog read succeeded, so a refusal is still an ordinary problem answer.
     */
    public void export(MigrationId migration, ExportRequest request, Supplier<OutputStream> out) {
        try (Connection c = Steps.open(connector, request.database(), TIMEOUT, true)) {
            c.setAutoCommit(false);
            c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            try {
                long[] snapshot = LoCatalog.snapshot(c);
                new LoState(stateDir, migration).join(request.database());
                LoStream.Writer[] writer = new LoStream.Writer[1];
                long[] objects = new long[1];
                List<Long> missing = LoCatalog.read(c, request.oids(), request.data(), false, found -> {
                    if (writer[0] == null) {
                        writer[0] = new LoStream.Writer(out.get());
                    }
                    LoStream.Writer w = writer[0];
                    w.header(LoHeader.object(found.oid(), found.owner(), found.acl(), found.comment(),
                            request.data()));
                    if (request.data()) {
                        w.chunk(found.first());
                        if (found.hasMore()) {
                            LoCatalog.rest(c, found, w::chunk);
                        }
                        w.endOfObject();
                    }
                    objects[0]++;
                });
                LoStream.Writer w = writer[0] == null ? new LoStream.Writer(out.get()) : writer[0];
                for (long oid : missing) {
                    w.header(LoHeader.unlinkOf(oid));
                }
                w.header(LoHeader.endOf(objects[0], missing.size(), Long.toString(snapshot[0])));
                w.flush();
            } finally {
                c.rollback();
            }
        } catch (SQLException e) {
            throw connector.translate(e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Makes this side's large objects what the stream says, in one transaction: all of it or, on any problem,
     * nothing.
     *
     * @param adopt treat large objects already here as pgferry's own copies (after this agent's state was lost)
     */
    public StepResult<Imported.Response> importStream(MigrationId migration, String database, boolean check,
                                                      boolean adopt, InputStream body) {
        try {
            LoStream.Reader in = new LoStream.Reader(body);
            LoState state = new LoState(stateDir, migration);
            boolean member = adopt || state.read(database).isPresent();
            // Writable even when fenced: at a rollback the old source takes the objects back while still fenced.
            try (Connection c = Sessions.writable(connector, database, TIMEOUT)) {
                try (Statement st = c.createStatement()) {
                    // Literals below are standard-conforming strings whatever the database's own setting says.
                    st.execute("SET standard_conforming_strings = on");
                }
                c.setAutoCommit(false);
                try {
                    String xid = null;
                    if (!check) {
                        try (Statement st = c.createStatement();
                             var rs = st.executeQuery("SELECT pg_catalog.pg_current_xact_id()::text")) {
                            rs.next();
                            xid = rs.getString(1);
                        }
                    }
                    LoImport work = new LoImport(c, !check, member);
                    work.run(in);
                    work.refuseProblems();
                    boolean changed = work.copied + work.unlinked > 0;
                    if (!check) {
                        state.join(database);
                        c.commit();
                    }
                    return new StepResult<>(changed, check, work.shown(), new Imported.Response(new Imported(
                            database, work.copied, work.replaced, work.unlinked, work.bytes, check ? null : xid)));
                } finally {
                    c.rollback();
                }
            }
        } catch (SQLException e) {
            throw connector.translate(e);
        } catch (IOException e) {
            // The body broke off (the caller or the sending agent went away): as incomplete as a missing end frame.
            throw ApiException.unprocessable("stream_incomplete", "the large-object stream could not be read to its "
                    + "end frame (" + e.getClass().getSimpleName() + "); nothing was changed here, run the step "
                    + "again", List.of());
        }
    }

    /** Stores this side's mark once the sync it scanned for is complete on both sides. */
    public StepResult<Map<String, MarkState>> mark(MigrationId migration, MarkRequest request) {
        Mark mark = request.mark();
        try (Connection c = Steps.open(connector, request.database(), Duration.ofSeconds(30), true)) {
            long[] snapshot = LoCatalog.snapshot(c);
            if (!valid(mark, snapshot[1])) {
                throw ApiException.unprocessable("mark_invalid", "the mark names transactions newer than any this "
                        + "server has run (its next is " + snapshot[1] + "): it is not this server's; send the "
                        + "next_mark this side's own scan answered", List.of(mark.xmin()));
            }
        } catch (SQLException e) {
            throw connector.translate(e);
        }
        LoState state = new LoState(stateDir, migration);
        Optional<LoState.Saved> saved = state.read(request.database());
        boolean changed = saved.isEmpty() || !mark.equals(saved.get().mark());
        if (changed && !request.check()) {
            state.write(new LoState.Saved(request.database(), mark));
        }
        Map<String, MarkState> out = new LinkedHashMap<>();
        out.put("large_objects", new MarkState(request.database(), mark));
        return new StepResult<>(changed, request.check(), List.of(), out);
    }

    /** A mark from this server: nothing in it newer than what the server has completed. */
    private static boolean valid(Mark mark, long nextXid) {
        return mark.xminValue() <= nextXid && mark.xids().stream().allMatch(x -> Long.parseLong(x) < nextXid);
    }

    /** md5 of owner, effective ACL, comment and content of each object, by oid. */
    private static Map<String, String> digests(Connection c, List<Long> oids) throws SQLException, IOException {
        Map<String, String> out = new LinkedHashMap<>();
        for (int from = 0; from < oids.size(); from += 1000) {
            LoCatalog.read(c, oids.subList(from, Math.min(oids.size(), from + 1000)), true, true, found -> {
                MessageDigest md = md5();
                md.update((found.owner() + "\n" + found.effectiveAcl() + "\n" + (found.comment() == null ? "-"
                        : "+" + found.comment()) + "\n").getBytes(StandardCharsets.UTF_8));
                md.update(found.first());
                if (found.hasMore()) {
                    LoCatalog.rest(c, found, md::update);
                }
                out.put(Long.toString(found.oid()), HexFormat.of().formatHex(md.digest()));
            });
        }
        return out;
    }

    private static MessageDigest md5() {
        try {
            return MessageDigest.getInstance("MD5");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
