package io.pgferry.agent.migration;

/**
 * Where a step finds a migration's scope as its schema archive recorded it. The archive's files are the schema
 * archive's business (schemaarchive.ArchiveFiles.scopes); the steps that work on its scope are given this.
 */
@FunctionalInterface
public interface ManifestScopes {
    /** @throws io.pgferry.agent.problem.ApiException 404 {@code archive_not_found} when no manifest is stored */
    ManifestScope read(MigrationId migration);
}
