DROP TABLE class_state;
DROP INDEX class_members_district;
DROP INDEX class_members_class;
DROP TABLE class_members;
DROP INDEX classes_lead_unit;
DROP INDEX classes_district;
DROP TABLE classes;
