package io.pgferry.agent.health;

import io.pgferry.agent.postgres.PgConnector;
import io.pgferry.agent.postgres.PostgresUnavailableException;
import io.pgferry.agent.postgres.ServerVersion;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Whether the local PostgreSQL answers, asked at most once per {@link #INTERVAL}: {@code /v1/health} needs no
 * token, so without a cache every anonymous call would be a PostgreSQL login (2,000 calls, 2,000 logins). While a
 * probe runs, other callers get the previous answer rather than waiting for it (a hung server would otherwise hold
 * one thread per caller); only the very first callers wait for the first probe.
 */
public final class HealthService {
    static final Duration INTERVAL = Duration.ofSeconds(2);
    /** With the 2 s connect timeout this keeps a probe under about 5 s even against a hung server. */
    private static final Duration QUERY_TIMEOUT = Duration.ofSeconds(3);
    private static final Duration FIRST_WAIT = Duration.ofSeconds(6);

    /** One probe's outcome: a version, or why not. */
    public record Probe(long atNanos, ServerVersion version, String failure) {
        public boolean up() {
            return failure == null;
        }
    }

    private final PgConnector connector;
    private final AtomicReference<Probe> last = new AtomicReference<>();
    private final AtomicReference<CompletableFuture<Probe>> running = new AtomicReference<>();

    public HealthService(PgConnector connector) {
        this.connector = connector;
    }

    /** The latest probe, at most {@link #INTERVAL} old unless one is under way. */
    public Probe current() {
        Probe p = last.get();
        if (p != null && System.nanoTime() - p.atNanos() < INTERVAL.toNanos()) {
            return p;
        }
        CompletableFuture<Probe> mine = new CompletableFuture<>();
        CompletableFuture<Probe> other = running.compareAndExchange(null, mine);
        if (other == null) {
            try {
                Probe fresh = probe();
                last.set(fresh);
                mine.complete(fresh);
                return fresh;
            } catch (RuntimeException | Error e) {
                mine.completeExceptionally(e);
                throw e;
            } finally {
                running.set(null);
            }
        }
        if (p != null) {
            return p;
        }
        try {
            return other.get(FIRST_WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Probe(System.nanoTime(), null, "interrupted while waiting for the first health probe");
        } catch (ExecutionException | TimeoutException e) {
            return new Probe(System.nanoTime(), null, "the first health probe did not finish in time");
        }
    }

    private Probe probe() {
        try (Connection c = connector.open(QUERY_TIMEOUT); Statement st = c.createStatement()) {
            st.setQueryTimeout((int) QUERY_TIMEOUT.toSeconds());
            try (ResultSet rs = st.executeQuery("SELECT 1")) {
                rs.next();
            }
            return new Probe(System.nanoTime(), connector.serverVersion(c), null);
        } catch (PostgresUnavailableException e) {
            return new Probe(System.nanoTime(), null, e.getMessage());
        } catch (SQLException e) {
            // Whatever went wrong, the server did not answer a trivial query: it is unavailable to us.
            return new Probe(System.nanoTime(), null, connector.describe(e));
        }
    }
}
