"""Product associations: baskets of held products plus discretised attributes, frequent itemsets by
Apriori (or FP-growth when it finds the same itemsets faster), rules with lift > 1 whose consequent is a
product, and a recommender over them. `serving.RuleService` is what recommend_products loads."""
