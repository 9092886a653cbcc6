/**
 * The engine's intermediate representation (internal): a DL4J graph read once into {@code Node}
 * records, and the passes that rewrite it (fold batch norm, fuse ReLU). Knows no oneDNN and no
 * parameter values.
 */
package org.densenet4j.engine.ir;
