/**
 * Owners and privileges of a migration's scope as a value ({@link io.pgferry.agent.privilegeset.PrivilegeSet}): how
 * a server's are read ({@link io.pgferry.agent.privilegeset.PrivilegeCatalog}), how source roles are named on the
 * target ({@link io.pgferry.agent.privilegeset.RoleMap}) and the statements that make a target's equal to a source's
 * ({@link io.pgferry.agent.privilegeset.PrivilegePlanner}). Shared below the steps: the schema archive carries a
 * PrivilegeSet in its manifest, and the schema apply, post-data, roles, preflight and privileges steps read and
 * apply it.
 */
package io.pgferry.agent.privilegeset;
