DROP TABLE opinion_search;
