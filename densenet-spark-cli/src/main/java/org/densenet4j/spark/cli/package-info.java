/**
 * The {@code spark-features} and {@code spark-train} commands.
 */
package org.densenet4j.spark.cli;
