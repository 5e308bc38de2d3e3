package io.pgferry.agent.schemaapply;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.pgferry.agent.http.Access;
import io.pgferry.agent.http.JsonBody;
import io.pgferry.agent.http.RequestBodies;
import io.pgferry.agent.http.RouteGroup;
import io.pgferry.agent.jobs.JobRunner;
import io.pgferry.agent.jobs.JobsController;
import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.schemaarchive.ArchiveKey;
import io.pgferry.agent.schemaarchive.SchemaArchiveController;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.Optional;

/** The target side of the schema transfer: receive the archive and its manifest, restore the schema. */
public final class SchemaApplyController implements RouteGroup {
    private final SchemaApplyService service;
    private final ArchiveUpload upload;
    private final JobRunner jobs;

    public SchemaApplyController(SchemaApplyService service, JobRunner jobs, Path stateDir,
                                 Optional<ArchiveKey> archiveKey) {
        this.service = service;
        this.jobs = jobs;
        this.upload = new ArchiveUpload(stateDir, archiveKey);
    }

    @Override
    public void register(RoutesConfig routes) {
        routes.put("/v1/migrations/{m}/schema-archive", this::putArchive, Access.CHANGE);
        routes.put("/v1/migrations/{m}/schema-archive/manifest", this::putManifest, Access.CHANGE);
        routes.post("/v1/migrations/{m}/schema-apply", this::apply, Access.JOB);
    }

    /**
     * {@code PUT /v1/migrations/{m}/schema-archive}: the archive's bytes as the body (at most 256 MiB), its sha256
     * in {@code X-Pgferry-Sha256}. A new archive drops the stored manifest; upload the manifest next.
     * <ul>
     *   <li>200: {@link UploadResult}; {@code changed} false when this archive was here already</li>
     *   <li>400 {@code invalid_request}: bad migration id, empty body, missing or malformed sha256 header</li>
     *   <li>401 {@code unauthorized}: missing or wrong bearer token</li>
     *   <li>408 {@code body_timeout}: the body stalled (the connection is closed)</li>
     *   <li>413 {@code body_too_large}: more than 256 MiB</li>
     *   <li>422 {@code sha256_mismatch}: the body's hash is not the stated one (nothing stored)</li>
     *   <li>422 {@code not_an_archive}: not a pg_dump custom-format archive</li>
     *   <li>500 {@code internal_error}: a bug in the agent, or the state directory is not writable</li>
     * </ul>
     */
    void putArchive(Context ctx) throws IOException {
        MigrationId m = new MigrationId(ctx.pathParam("m"));
        try (InputStream body = RequestBodies.stream(ctx, ArchiveUpload.MAX_ARCHIVE_BYTES)) {
            ctx.json(upload.archive(m, body, ctx.header(SchemaArchiveController.SHA256_HEADER)));
        }
    }

    /**
     * {@code PUT /v1/migrations/{m}/schema-archive/manifest}: the signed manifest exactly as the source served it
     * (at most 64 MiB), after its archive. Its signature is checked before anything of it is parsed.
     * <ul>
     *   <li>200: {@link UploadResult}; {@code changed} false when this manifest was here already</li>
     *   <li>400 {@code invalid_request}: bad migration id, empty body or (signed, yet) not a manifest</li>
     *   <li>401 {@code unauthorized}: missing or wrong bearer token</li>
     *   <li>408 {@code body_timeout}: the body stalled (the connection is closed)</li>
     *   <li>413 {@code body_too_large}: more than 64 MiB</li>
     *   <li>422 {@code manifest_unsigned}, {@code manifest_key_mismatch}, {@code manifest_signature_invalid}: not
     *       signed by a source agent holding this agent's archive key for this migration (nothing stored)</li>
     *   <li>422 {@code manifest_unsupported}: a manifest format this agent does not know</li>
     *   <li>422 {@code manifest_mismatch}: the manifest is another migration's</li>
     *   <li>422 {@code archive_manifest_mismatch}: the stored archive is not the one the manifest describes</li>
     *   <li>500 {@code archive_key_missing}: this agent has no archive_key_file</li>
     *   <li>500 {@code internal_error}: a bug in the agent</li>
     * </ul>
     */
    void putManifest(Context ctx) throws IOException {
        MigrationId m = new MigrationId(ctx.pathParam("m"));
        try (InputStream body = RequestBodies.stream(ctx, ArchiveUpload.MAX_MANIFEST_BYTES)) {
            ctx.json(upload.manifest(m, body));
        }
    }

    /**
     * {@code POST /v1/migrations/{m}/schema-apply[?wait=N]} {@code {database, check, privileges, role_map}}: a job that
     * restores the pre-data (unless every table exists) with the source's owners and privileges in the same
     * transaction, and then the missing primary keys and replica-identity indexes. With
     * {@code check}, the plan is computed and returned at once and nothing runs.
     * <ul>
     *   <li>200: with check: {@link ApplyResult}; else {@code {"job": ...}} finished within {@code wait} seconds
     *       (a failed job too: see its {@code state} and {@code error})</li>
     *   <li>202: {@code {"job": ...}} running; poll {@code GET /v1/jobs/{id}} (also in {@code Location})</li>
     *   <li>400 {@code invalid_request}: bad migration id, body or {@code wait}</li>
     *   <li>401 {@code unauthorized}: missing or wrong bearer token</li>
     *   <li>404 {@code archive_not_found}: archive or manifest not uploaded</li>
     *   <li>404 {@code database_not_found}: no such database</li>
     *   <li>409 {@code operation_in_progress}: another long step runs (its job id is in {@code objects})</li>
     *   <li>422 {@code extensions_missing}: the target cannot create these extensions (in {@code objects})</li>
     *   <li>422 {@code target_schema_partial}: some but not all tables exist (the existing ones in
     *       {@code objects})</li>
     *   <li>422 {@code roles_missing}: with privileges, roles the owners and grants name (through {@code role_map})
     *       do not exist here (in {@code objects}); run the roles step</li>
     *   <li>502 {@code postgres_error}: PostgreSQL refused a catalog query</li>
     *   <li>503 {@code postgres_unavailable}: PostgreSQL could not be reached</li>
     *   <li>500 {@code internal_error}: a bug in the agent</li>
     * </ul>
     * The job fails with {@code pg_restore_failed} (the tool's error lines in {@code detail}),
     * {@code pg_tools_unavailable}, or the same catalog errors.
     */
    void apply(Context ctx) throws InterruptedException {
        MigrationId m = new MigrationId(ctx.pathParam("m"));
        ApplyRequest request = JsonBody.read(ctx, ApplyRequest.class);
        JobsController.waitSeconds(ctx); // a bad wait is refused before anything starts
        if (request.check()) {
            ctx.json(service.check(m, request));
            return;
        }
        JobsController.respond(ctx, jobs, service.start(m, request));
    }
}
