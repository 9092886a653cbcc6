/**
 * oneDNN plumbing shared by the engine and the DL4J helpers (internal): the engine and streams,
 * buffer planning, convolution geometry, host arrays. Knows no DL4J layers.
 */
package org.densenet4j.onednn;
