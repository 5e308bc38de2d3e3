package io.pgferry.agent.schemaarchive;

/** An extension the source database has, which the target must be able to create. */
public record ExtensionRef(String name, String version, String schema) {
}
