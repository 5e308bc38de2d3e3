package io.pgferry.agent.http;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.pgferry.agent.problem.BadRequestException;
import java.time.Duration;
import java.util.Map;

/** A run's lease on a migration ({@link MigrationLeases}): taken by the cutover for its length, renewed, given back. */
final class LeaseController implements RouteGroup {
    private static final String PATH = "/v1/migrations/{m}/lease";

    /** Body of {@code PUT lease}. */
    record LeaseRequest(String owner, Long ttlSeconds) {
        LeaseRequest {
            if (ttlSeconds == null) {
                throw new BadRequestException("ttl_seconds", "ttl_seconds is required: how long the lease outlives "
                        + "its holder's last renewal or request");
            }
        }
    }

    private final MigrationLeases leases;

    LeaseController(MigrationLeases leases) {
        this.leases = leases;
    }

    @Override
    public void register(RoutesConfig routes) {
        routes.put(PATH, this::put, Access.LEASE);
        routes.delete(PATH, this::delete, Access.LEASE);
    }

    /**
     * {@code PUT /v1/migrations/{m}/lease} {@code {owner, ttl_seconds}}: takes the migration's lease for
     * {@code owner}, or renews the one it holds. While it is live, a changing or job request on the migration without
     * {@code X-Pgferry-Lease: owner} is refused; it lapses {@code ttl_seconds} after its last renewal or request of
     * its holder.
     * <ul>
     *   <li>200: {@code {owner, ttl_seconds, taken}} ({@code taken}: it was free, not renewed)</li>
     *   <li>400 {@code invalid_request}: bad migration id, owner (1-64 letters, digits, _ . : -) or ttl_seconds
     *       (1-600)</li>
     *   <li>401 {@code unauthorized}: missing or wrong bearer token</li>
     *   <li>409 {@code migration_leased}: another run holds the lease; the detail names it and when it lapses</li>
     * </ul>
     */
    public void put(Context ctx) {
        String migration = Params.migration(ctx).value();
        LeaseRequest request = JsonBody.read(ctx, LeaseRequest.class);
        ctx.json(leases.take(migration, request.owner(), Duration.ofSeconds(request.ttlSeconds())));
    }

    /**
     * {@code DELETE /v1/migrations/{m}/lease?owner=..}: gives the lease back.
     * <ul>
     *   <li>200: {@code {released}} (false: it had lapsed, or was never taken)</li>
     *   <li>400 {@code invalid_request}: bad migration id or owner</li>
     *   <li>401 {@code unauthorized}: missing or wrong bearer token</li>
     *   <li>409 {@code migration_leased}: another run holds the lease</li>
     * </ul>
     */
    public void delete(Context ctx) {
        String migration = Params.migration(ctx).value();
        ctx.json(Map.of("released", leases.release(migration, ctx.queryParam("owner"))));
    }
}
