package io.pgferry.agent.schemaarchive;

import io.pgferry.agent.json.Shared;
import io.pgferry.agent.sql.Sql;
import java.util.List;

/**
 * One entry of the archive's table of contents, with the object's exact identity read from the source catalogs
 * by OID (never by splitting the TOC text).
 *
 * @param id the dump id, which pg_restore --use-list selects by
 * @param section {@code pre-data} or {@code post-data}
 * @param desc pg_dump's entry kind ({@code TABLE}, {@code FK CONSTRAINT}, {@code INDEX ATTACH}, ...)
 * @param catalogOid the OID of the object's catalog (pg_class, pg_constraint, ...); 0 for entries that are no
 *     catalog object of their own (COMMENT, INDEX ATTACH, ...)
 * @param type PostgreSQL's object type ({@code pg_identify_object_as_address}), or for entries with no OID:
 *     {@code index attach}, {@code table attach}, {@code row security}, {@code comment}; null when unresolved
 * @param names the object's unquoted name parts as {@code pg_identify_object_as_address} gives them
 * @param table for objects of a table (constraints, triggers, rules, policies, indexes), the table's name
 * @param contype for constraints: {@code p}, {@code u}, {@code f}, {@code c}, {@code x}
 * @param primaryKey for indexes and constraints (and INDEX ATTACH of such an index): it is the table's primary key
 * @param replicaIdentity for indexes and constraints: its index is the table's replica identity index
 * @param commentOn for COMMENT entries: the dump id of the entry the comment belongs to, when known
 * @param populated for materialized views: whether the source's is populated (then the target's is refreshed)
 * @param tocText the line's text after the desc, for people reading the manifest; never parsed for names
 */
public record TocEntry(int id, String section, String desc, long catalogOid, long objectOid, String type,
                       List<String> names, List<String> args, String schema, String name, String table,
                       String contype, Boolean primaryKey, Boolean replicaIdentity, Integer commentOn,
                       Boolean populated, String tocText) {
    public static final String PRE_DATA = "pre-data";
    public static final String POST_DATA = "post-data";

    public TocEntry {
        section = Shared.of(section);
        desc = Shared.of(desc);
        type = Shared.of(type);
        names = names == null ? List.of() : Shared.all(names);
        args = args == null ? List.of() : Shared.all(args);
        schema = Shared.of(schema);
        name = Shared.of(name);
        table = Shared.of(table);
        contype = Shared.of(contype);
    }

    public boolean keyForReplication() {
        return Boolean.TRUE.equals(primaryKey) || Boolean.TRUE.equals(replicaIdentity);
    }

    /** For messages and results: e.g. {@code 3031 TRIGGER "Touch Note" ON "Sales Dept"."invoices"}. */
    public String describe() {
        if (name == null) {
            return id + " " + desc;
        }
        String object = table == null ? qualify(name) : Sql.ident(name) + " ON " + qualify(table);
        return id + " " + desc + " " + object;
    }

    private String qualify(String object) {
        return schema == null ? Sql.ident(object) : Sql.qualified(schema, object);
    }
}
