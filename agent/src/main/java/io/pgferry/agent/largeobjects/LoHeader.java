package io.pgferry.agent.largeobjects;

import io.pgferry.agent.migration.Names;
import io.pgferry.agent.problem.BadRequestException;
import java.util.List;

/**
 * The JSON header of one frame of a large-object stream ({@link LoStream}): a large object (owner, ACL, comment, then
 * its content in chunks unless {@code data} is false), an unlink, or the end of the stream.
 *
 * @param acl the ACL as granted, or null for the default (the owner's rights only)
 * @param mark end frame: the sender's snapshot xmin when it read (informational)
 */
public record LoHeader(Long oid, String owner, List<AclItem> acl, String comment, Boolean data,
                       Boolean unlink, Boolean end, Long objects, Long unlinked, String mark) {

    /** One ACL entry; {@code grantee} null is PUBLIC; grantors are not kept (GRANT records the owner). */
    public record AclItem(String grantee, String privilege, Boolean grantable) {
        public AclItem {
            if (grantee != null) {
                Names.require("acl.grantee", grantee);
            }
            if (!"SELECT".equals(privilege) && !"UPDATE".equals(privilege)) {
                throw new BadRequestException("acl.privilege", "a large object's privilege is SELECT or UPDATE");
            }
            grantable = grantable != null && grantable;
        }
    }

    static LoHeader object(long oid, String owner, List<AclItem> acl, String comment, boolean data) {
        return new LoHeader(oid, owner, acl, comment, data, null, null, null, null, null);
    }

    static LoHeader unlinkOf(long oid) {
        return new LoHeader(oid, null, null, null, null, true, null, null, null, null);
    }

    static LoHeader endOf(long objects, long unlinked, String mark) {
        return new LoHeader(null, null, null, null, null, null, true, objects, unlinked, mark);
    }

    boolean isEnd() {
        return Boolean.TRUE.equals(end);
    }

    boolean isUnlink() {
        return Boolean.TRUE.equals(unlink);
    }

    boolean hasData() {
        return !Boolean.FALSE.equals(data);
    }

    /** Checks a frame read from a stream; the field names say where the stream is wrong. */
    LoHeader validated() {
        if (isEnd()) {
            return this;
        }
        requireOid("oid", oid);
        if (isUnlink()) {
            return this;
        }
        Names.require("owner", owner);
        if (comment != null && comment.indexOf('\0') >= 0) {
            throw new BadRequestException("comment", "a comment cannot hold NUL");
        }
        return this;
    }

    static long requireOid(String field, Long oid) {
        if (oid == null || oid < 1 || oid > 0xFFFF_FFFFL) {
            throw new BadRequestException(field, field + " must be a large object's oid (1 to 4294967295)");
        }
        return oid;
    }
}
