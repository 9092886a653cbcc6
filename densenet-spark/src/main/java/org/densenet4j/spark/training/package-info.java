/**
 * Data-parallel training on Spark: DL4J's parameter averaging with each worker's steps on the
 * compiled trainer.
 */
package org.densenet4j.spark.training;
