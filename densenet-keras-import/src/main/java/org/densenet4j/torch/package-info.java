/**
 * PyTorch checkpoints read without running code from them (internal): a restricted unpickler and
 * the state_dict reader behind {@link org.densenet4j.keras.KerasDenseNetImporter}.
 */
package org.densenet4j.torch;
