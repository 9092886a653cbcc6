/**
 * What plugs into DL4J itself: {@link org.densenet4j.dl4j.FastPath} puts a graph's layers on faster
 * helpers (oneDNN convolutions, batch norms, merges, ReLU) while it stays a standard
 * {@code ComputationGraph}; {@link org.densenet4j.dl4j.NativeDefaults} picks ND4J's native settings.
 */
package org.densenet4j.dl4j;
