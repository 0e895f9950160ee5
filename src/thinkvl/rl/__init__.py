"""Reinforcement learning with curriculum sampling (RLCS): GRPO as the GLM-4.1V report runs it."""
