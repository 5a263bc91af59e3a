"""HuleEduService API types (v1alpha1), their validation rules and the generated CRD."""
