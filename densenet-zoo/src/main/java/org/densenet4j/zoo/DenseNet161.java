package org.densenet4j.zoo;

import java.util.function.UnaryOperator;

/** DenseNet-161 in DL4J's zoo API; see {@link DenseNetPreset#DENSENET161}. */
public class DenseNet161 extends DenseNetZooModel {

    /** DenseNet-161 with 1000 classes and a 224x224x3 input. */
    public DenseNet161() {
        super(DenseNetPreset.DENSENET161, UnaryOperator.identity());
    }

    /** DenseNet-161 changed by {@code customise}, e.g. {@code c -> c.numClasses(10)}. */
    public DenseNet161(UnaryOperator<DenseNetConfig.Builder> customise) {
        super(DenseNetPreset.DENSENET161, customise);
    }
}
