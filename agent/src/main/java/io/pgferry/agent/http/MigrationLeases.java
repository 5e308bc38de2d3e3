package io.pgferry.agent.http;

import io.javalin.http.Context;
import io.pgferry.agent.problem.ApiException;
import io.pgferry.agent.problem.BadRequestException;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;
import java.util.regex.Pattern;

/**
 * A run's hold on a migration across its requests. The migration lock ({@link MigrationLocks}) lasts one request;
 * a cutover is a dozen, and a second run interleaving its own (its undo lifting the first run's fence, its RESUME
 * letting clients onto a side the first run is leaving) could make clients write where the stream no longer carries
 * their writes. While a run holds the lease, every changing or job request on the migration must carry its id in
 * {@value #HEADER}; anyone else's is refused with 409 {@code migration_leased}. Reads stay open. The lease lapses
 * {@code ttl} after its holder last renewed it or sent a request, so a controller that died frees it by itself.
 * Kept in memory: an agent restart frees it, and the holder's next renewal takes it again.
 */
public final class MigrationLeases {
    public static final String HEADER = "X-Pgferry-Lease";
    public static final Duration MAX_TTL = Duration.ofMinutes(10);
    private static final Pattern OWNER = Pattern.compile("[A-Za-z0-9_.:-]{1,64}");

    /** What the lease route answers. */
    public record Held(String owner, long ttlSeconds, boolean taken) {
    }

    private record Lease(String owner, long ttlNanos, long expiresAt) {
    }

    private final Map<String, Lease> leases = new HashMap<>();
    private final LongSupplier clock;

    public MigrationLeases() {
        this(System::nanoTime);
    }

    MigrationLeases(LongSupplier clock) {
        this.clock = clock;
    }

    /**
     * Takes the lease, or renews the caller's own.
     *
     * @throws ApiException 409 {@code migration_leased} while another owner's lease is live
     */
    public synchronized Held take(String migration, String owner, Duration ttl) {
        requireOwner(owner, "owner");
        if (ttl.isNegative() || ttl.isZero() || ttl.compareTo(MAX_TTL) > 0) {
            throw new BadRequestException("ttl_seconds", "ttl_seconds must be 1-" + MAX_TTL.toSeconds());
        }
        Lease live = live(migration);
        if (live != null && !live.owner().equals(owner)) {
            throw leased(migration, live);
        }
        leases.put(migration, new Lease(owner, ttl.toNanos(), clock.getAsLong() + ttl.toNanos()));
        return new Held(owner, ttl.toSeconds(), live == null);
    }

    /**
     * Gives the lease back; a lapsed one, or none, is already given back.
     *
     * @return whether a live lease of this owner was released
     * @throws ApiException 409 {@code migration_leased} when another owner holds it
     */
    public synchronized boolean release(String migration, String owner) {
        requireOwner(owner, "owner");
        Lease live = live(migration);
        if (live == null) {
            return false;
        }
        if (!live.owner().equals(owner)) {
            throw leased(migration, live);
        }
        leases.remove(migration);
        return true;
    }

    /**
     * A changing or job request on a leased migration: allowed for the holder (and it renews the lease), refused for
     * anyone else. A request naming a lease nobody holds (it lapsed, or the agent restarted) takes it again, with its
     * last length, when it is free.
     */
    synchronized void check(Context ctx, String migration) {
        String owner = ctx.header(HEADER);
        Lease live = live(migration);
        if (live == null) {
            return;
        }
        if (owner == null || !owner.equals(live.owner())) {
            throw leased(migration, live);
        }
        leases.put(migration, new Lease(owner, live.ttlNanos(), clock.getAsLong() + live.ttlNanos()));
    }

    private Lease live(String migration) {
        Lease l = leases.get(migration);
        if (l != null && l.expiresAt() - clock.getAsLong() <= 0) {
            leases.remove(migration);
            return null;
        }
        return l;
    }

    private ApiException leased(String migration, Lease live) {
        long left = Math.max(1, Duration.ofNanos(live.expiresAt() - clock.getAsLong()).toSeconds());
        return ApiException.conflict("migration_leased", "another run drives migration " + migration + " right now "
                + "(its cutover holds the migration's lease, " + live.owner() + "); let it finish and read the outcome "
                + "in its report, or run again once it has ended - a run that died gives the lease up within " + left
                + " s", List.of(live.owner()));
    }

    private static void requireOwner(String owner, String field) {
        if (owner == null || !OWNER.matcher(owner).matches()) {
            throw new BadRequestException(field, field + " must be 1-64 letters, digits, '_', '.', ':' or '-'");
        }
    }
}
