package io.pgferry.agent.schemaarchive;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.pgferry.agent.http.Access;
import io.pgferry.agent.http.JsonBody;
import io.pgferry.agent.http.RequestBodies;
import io.pgferry.agent.http.RouteGroup;
import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.problem.ApiException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The schema archive: the source makes it and hands it and its manifest out; the target receives them, checked and
 * stored for schemaapply, post-data and the copy to restore from.
 */
public final class SchemaArchiveController implements RouteGroup {
    public static final String SHA256_HEADER = "X-Pgferry-Sha256";

    private final SchemaArchiveService service;
    private final ArchiveUpload upload;
    private final Path stateDir;

    public SchemaArchiveController(SchemaArchiveService service, Path stateDir, Optional<ArchiveKey> archiveKey) {
        this.service = service;
        this.upload = new ArchiveUpload(stateDir, archiveKey);
        this.stateDir = stateDir;
    }

    @Override
    public void register(RoutesConfig routes) {
        routes.post("/v1/migrations/{m}/schema-archive", this::create, Access.CHANGE);
        routes.get("/v1/migrations/{m}/schema-archive", this::download, Access.READ);
        routes.get("/v1/migrations/{m}/schema-archive/manifest", this::manifest, Access.READ);
        routes.put("/v1/migrations/{m}/schema-archive", this::putArchive, Access.CHANGE);
        routes.put("/v1/migrations/{m}/schema-archive/manifest", this::putManifest, Access.CHANGE);
    }

    /**
     * {@code POST /v1/migrations/{m}/schema-archive} {@code {database, include_schemas, exclude_schemas,
     * include_tables, exclude_tables, check}}: pg_dump of the scope's schema into {@code state_dir/{m}/schema.dump},
     * with its manifest. Unchanged (and the stored archive kept) when the schema's content is the same. With
     * {@code check: true} nothing is stored: {@code changed} says whether a new archive would be, {@code archive} is
     * the stored one (absent when there is none).
     * <ul>
     *   <li>200: {@link ArchiveResult}</li>
     *   <li>400 {@code invalid_request}: bad migration id or body; {@code field} names it</li>
     *   <li>401 {@code unauthorized}: missing or wrong bearer token</li>
     *   <li>404 {@code database_not_found}: no such database</li>
     *   <li>422 {@code unknown_objects}: schemas or tables of the scope do not exist</li>
     *   <li>422 {@code scope_splits_tables}: a table in scope has partitions or inheritance children outside it</li>
     *   <li>422 {@code empty_scope}: the scope leaves no schema</li>
     *   <li>500 {@code pg_tools_unavailable}: no usable pg_dump for the server</li>
     *   <li>500 {@code archive_key_missing}: this agent has no archive_key_file to sign the manifest with</li>
     *   <li>502 {@code pg_dump_failed}, {@code pg_restore_failed}: the tool failed; its error lines are in
     *       {@code detail}</li>
     *   <li>502 {@code postgres_error}: PostgreSQL refused a catalog query</li>
     *   <li>503 {@code postgres_unavailable}: PostgreSQL could not be reached</li>
     *   <li>504 {@code tool_timeout}: pg_dump ran longer than an hour</li>
     *   <li>500 {@code internal_error}: a bug in the agent</li>
     * </ul>
     */
    void create(Context ctx) {
        MigrationId m = new MigrationId(ctx.pathParam("m"));
        ctx.json(service.archive(m, JsonBody.read(ctx, ArchiveRequest.class)));
    }

    /**
     * {@code GET /v1/migrations/{m}/schema-archive}: the archive's bytes ({@code application/octet-stream}),
     * its sha256 in {@code X-Pgferry-Sha256}.
     * <ul>
     *   <li>200: the archive</li>
     *   <li>400 {@code invalid_request}: bad migration id</li>
     *   <li>401 {@code unauthorized}: missing or wrong bearer token</li>
     *   <li>404 {@code archive_not_found}: no complete archive for this migration</li>
     *   <li>500 {@code internal_error}: a bug in the agent, or the file could not be read</li>
     * </ul>
     */
    void download(Context ctx) throws IOException {
        ArchiveFiles files = new ArchiveFiles(stateDir, new MigrationId(ctx.pathParam("m")));
        Manifest manifest = files.requireManifest();
        String sha = files.dumpSha256().orElseThrow(() -> ApiException.notFound("archive_not_found",
                "the manifest is here but the archive is not; create or upload it again"));
        if (!sha.equals(manifest.archiveSha256())) {
            throw ApiException.notFound("archive_not_found", "the stored archive is not the one its manifest "
                    + "describes; create or upload it again");
        }
        ctx.header(SHA256_HEADER, sha);
        ctx.header("Content-Length", Long.toString(Files.size(files.dump())));
        ctx.contentType("application/octet-stream").result(Files.newInputStream(files.dump()));
    }

    /**
     * {@code GET /v1/migrations/{m}/schema-archive/manifest}: the signed manifest document as stored (a
     * {@link Manifest} with its {@code signature} as the first field); upload it to the target byte for byte.
     * <ul>
     *   <li>200: the manifest</li>
     *   <li>400 {@code invalid_request}: bad migration id</li>
     *   <li>401 {@code unauthorized}: missing or wrong bearer token</li>
     *   <li>404 {@code archive_not_found}: no manifest for this migration</li>
     *   <li>500 {@code internal_error}: a bug in the agent</li>
     * </ul>
     */
    void manifest(Context ctx) {
        ArchiveFiles files = new ArchiveFiles(stateDir, new MigrationId(ctx.pathParam("m")));
        files.requireManifest();
        Path doc = files.manifestFile().orElseThrow(() -> ApiException.notFound("archive_not_found",
                "the manifest was removed meanwhile; create (source) or upload (target) it again"));
        try {
            ctx.contentType("application/json").result(Files.newInputStream(doc));
        } catch (IOException e) {
            throw ApiException.notFound("archive_not_found",
                    "the manifest was removed meanwhile; create (source) or upload (target) it again");
        }
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
}
